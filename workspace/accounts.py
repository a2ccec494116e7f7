"""Accounts: who signs in, with which role and units; passwords hashed with argon2, sessions that expire.

- A password is kept only as its argon2id hash (``argon2-cffi``, the library's default parameters,
  RFC 9106); it is never stored, printed or logged in clear. A hash made with older parameters is
  renewed at the next sign-in.
- Failed sign-ins are slowed down: after ``FREE_TRIES`` wrong passwords in a row an account waits
  1 s, then 2, 4 ... up to 15 minutes before the next try is even checked. An unknown name costs the
  same time as a wrong password and gets the same answer.
- A sign-in gives a random token; the store keeps only its SHA-256 and an expiry
  (``QUARTERHOUR_SESSION_HOURS``, default 8). Disabling an account ends its sessions.
- Single sign-on (Streamlit's ``st.login``): the organisation's identity provider says who the person is
  (``st.user``); ``sso_actor`` finds the account that identity was given to (``users add --oidc``), which
  must exist and be enabled. An account made for single sign-on only has no password that can match.

Examples
--------
>>> from workspace import Store
>>> accounts = Accounts(Store("sqlite://"))
>>> accounts.add("wang", "correct horse battery", role="planner", units=("MC-D1",)).units
('MC-D1',)
>>> token, who = accounts.sign_in("wang", "correct horse battery")
>>> accounts.actor(token) == who, who.role
(True, 'planner')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import sessionmaker

from workspace.access import ACCOUNT_ROLES, Actor
from workspace.errors import WorkspaceError
from workspace.models import Account, SignIn

__all__ = [
    "ACCOUNT_ROLES",
    "FREE_TRIES",
    "MAX_SESSION_HOURS",
    "AccountInfo",
    "Accounts",
    "SignInRefused",
    "session_hours",
]

#: Wrong passwords in a row before each further try waits.
FREE_TRIES = 3
MAX_WAIT_S = 900
MIN_PASSWORD = 10
#: the password hash of an account that signs in only through single sign-on: no password matches it
NO_PASSWORD = "!sso-only"
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("an unknown name costs the same as a wrong password")


class SignInRefused(WorkspaceError):
    """A sign-in that did not succeed: the message says what to do, never which part was wrong."""


@dataclass(frozen=True)
class AccountInfo:
    """An account as listed (no hash)."""

    name: str
    role: str
    units: tuple[str, ...]
    disabled: bool
    last_sign_in: dt.datetime | None
    oidc: str | None = None  #: the single sign-on identity (e-mail or sub), if any


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _units(text: str) -> tuple[str, ...]:
    return tuple(u for u in text.split(",") if u)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sso_identity(value: str) -> str:
    """An identity as kept: an e-mail in lower case (providers differ in case), any other ``sub`` as given."""
    value = value.strip()
    return value.lower() if "@" in value else value


#: The longest a sign-in may last, in hours (a quarter year): more is a typo, and past year 9999 a crash.
MAX_SESSION_HOURS = 24 * 92


def session_hours() -> float:
    """How long a sign-in lasts: ``QUARTERHOUR_SESSION_HOURS`` (default 8), from 0.01 to ``MAX_SESSION_HOURS``.

    Raises
    ------
    WorkspaceError
        The setting is not a number of hours in that range (``nan``, ``inf``, ``1e9``, ``abc``, ``0``).
    """
    raw = os.environ.get("QUARTERHOUR_SESSION_HOURS", "").strip()
    if not raw:
        return 8.0
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not 0.01 <= hours <= MAX_SESSION_HOURS:  # nan is in no range
        raise WorkspaceError(
            f"QUARTERHOUR_SESSION_HOURS is '{raw[:40]}', not a number of hours from 0.01 to {MAX_SESSION_HOURS:,}",
            fix="set it to how long a sign-in lasts, e.g. 8 (a working day), or unset it for 8",
        )
    return hours


class Accounts:
    """The accounts of a workspace (``workspace.Store``)."""

    def __init__(self, store: object) -> None:
        self._session = sessionmaker(store.engine, expire_on_commit=False)

    def any(self) -> bool:
        """Whether the workspace has accounts: then the app asks to sign in; without, it runs for one local user."""
        with self._session() as s:
            return s.scalar(sa.select(sa.func.count(Account.id))) > 0

    def add(
        self, name: str, password: str | None, *, role: str, units: tuple[str, ...] = (), oidc: str | None = None
    ) -> Actor:
        """A new account; a planner needs its units (review unit codes).

        ``oidc``: the single sign-on identity (the e-mail, or the provider's ``sub``) that signs in as this
        account; with it, the password may be None (the account signs in only through single sign-on).
        """
        name = name.strip()
        oidc = sso_identity(oidc) if oidc and oidc.strip() else None
        units = tuple(u.strip() for u in units if u.strip())
        if not name or len(name) > 100:
            raise WorkspaceError("an account needs a name (at most 100 letters)", fix="give a name")
        if role not in ACCOUNT_ROLES:
            raise WorkspaceError(f"unknown role '{role}'", fix=f"use one of {', '.join(ACCOUNT_ROLES)}")
        if role == "planner" and not units:
            raise WorkspaceError("a planner needs the units they plan for", fix="give --units, e.g. --units 410302")
        if (password is not None or oidc is None) and len(password or "") < MIN_PASSWORD:
            raise WorkspaceError(f"the password is shorter than {MIN_PASSWORD} characters", fix="choose a longer one")
        with self._session.begin() as s:
            if s.scalar(sa.select(Account.id).where(Account.name == name)) is not None:
                raise WorkspaceError(f"there is already an account '{name}'", fix="choose another name")
            if oidc and s.scalar(sa.select(Account.name).where(Account.oidc == oidc)) is not None:
                raise WorkspaceError(f"'{oidc}' already signs in as another account", fix="give each person one")
            s.add(
                Account(
                    name=name,
                    role=role,
                    units=",".join(units),
                    password_hash=NO_PASSWORD if password is None else _HASHER.hash(password),
                    disabled=False,
                    failed=0,
                    created_at=_now(),
                    oidc=oidc,
                )
            )
        return Actor(name, role, units)

    def list(self) -> list[AccountInfo]:
        """Every account, by name."""
        with self._session() as s:
            return [
                AccountInfo(a.name, a.role, _units(a.units), a.disabled, _utc(a.last_sign_in), a.oidc)
                for a in s.scalars(sa.select(Account).order_by(Account.name))
            ]

    def disable(self, name: str) -> None:
        """Disable an account: it can no longer sign in, and its sessions end now."""
        with self._session.begin() as s:
            account = s.scalar(sa.select(Account).where(Account.name == name))
            if account is None:
                raise WorkspaceError(f"no account '{name}'", fix="see quarterhour users list")
            account.disabled = True
            s.execute(sa.delete(SignIn).where(SignIn.account_id == account.id))

    def sign_in(self, name: str, password: str, *, now: dt.datetime | None = None) -> tuple[str, Actor]:
        """Check a name and password: a session token and the account, or ``SignInRefused``.

        A wrong password is counted (and the wait that follows set) in its own transaction, before the refusal.
        """
        now = now or _now()
        with self._session.begin() as s:
            account = s.scalar(sa.select(Account).where(Account.name == name.strip()))
            refused = _check(account, password, now)
            if refused is None:
                if _HASHER.check_needs_rehash(account.password_hash):
                    account.password_hash = _HASHER.hash(password)
                account.failed, account.locked_until, account.last_sign_in = 0, None, now
                token = secrets.token_urlsafe(32)
                expires = now + dt.timedelta(hours=session_hours())
                s.add(SignIn(token_sha=_sha(token), account_id=account.id, expires_at=expires))
                who = Actor(account.name, account.role, _units(account.units))
        if refused is not None:
            raise refused
        return token, who

    def actor(self, token: str | None, *, now: dt.datetime | None = None) -> Actor | None:
        """The account of a session token, or None if it expired, was ended, or the account is disabled."""
        if not token:
            return None
        now = now or _now()
        with self._session() as s:
            found = s.execute(
                sa.select(SignIn, Account).join(Account).where(SignIn.token_sha == _sha(token))
            ).one_or_none()
            if found is None:
                return None
            signin, account = found
            if account.disabled or _utc(signin.expires_at) <= now:
                return None
            return Actor(account.name, account.role, _units(account.units))

    def sso_actor(self, user: Mapping[str, object], *, now: dt.datetime | None = None) -> Actor:
        """The account a single sign-on identity signs in as, or ``SignInRefused``.

        ``user`` is what ``st.user`` holds after ``st.login``: the provider's claims. Its ``email`` (when the
        provider has not said it is unverified), else its ``sub``, must be the ``oidc`` of an enabled account.
        """
        email, sub = str(user.get("email") or ""), str(user.get("sub") or "")
        if user.get("email_verified") is False:
            email = ""
        tried = [sso_identity(v) for v in (email, sub) if v.strip()]
        if not tried:
            raise SignInRefused("the organisation's sign-in gave no e-mail or subject", fix="ask an admin")
        with self._session.begin() as s:
            found = {a.oidc: a for a in s.scalars(sa.select(Account).where(Account.oidc.in_(tried)))}
            account = next((found[v] for v in tried if v in found), None)  # the e-mail first, then the sub
            if account is None:
                raise SignInRefused(
                    f"no workspace account for {tried[0]}",
                    fix=f"ask an admin: quarterhour users add NAME --role planner --units CODES --oidc {tried[0]}",
                )
            if account.disabled:
                raise SignInRefused("this account is disabled", fix="ask an admin")
            account.last_sign_in = now or _now()
            return Actor(account.name, account.role, _units(account.units))

    def sign_out(self, token: str) -> None:
        """End a session."""
        with self._session.begin() as s:
            s.execute(sa.delete(SignIn).where(SignIn.token_sha == _sha(token)))


def _check(account: Account | None, password: str, now: dt.datetime) -> SignInRefused | None:
    """Why a sign-in is refused, or None; a wrong password is counted on the account (the caller commits)."""
    wrong = SignInRefused("wrong name or password", fix="check both and try again")
    if account is None:
        _verify(_DUMMY, password)  # as long as a wrong password takes
        return wrong
    locked = _utc(account.locked_until)
    if locked and locked > now:
        return SignInRefused(
            f"too many wrong passwords: the next try is checked in {(locked - now).total_seconds():.0f} s",
            fix="wait, then try again; an admin can help",
        )
    if not _verify(account.password_hash, password):
        account.failed += 1
        if account.failed >= FREE_TRIES:
            account.locked_until = now + dt.timedelta(seconds=min(2 ** (account.failed - FREE_TRIES), MAX_WAIT_S))
        return wrong
    if account.disabled:
        return SignInRefused("this account is disabled", fix="ask an admin")
    return None


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
