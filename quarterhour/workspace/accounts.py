"""Accounts: who signs in, with which role and units; passwords hashed with argon2, sessions that expire.

- A password is kept only as its argon2id hash (``argon2-cffi``, the library's default parameters,
  RFC 9106); it is never stored, printed or logged in clear. A hash made with older parameters is
  renewed at the next sign-in.
- Failed sign-ins are slowed down per name: after ``FREE_TRIES`` tries in a row that did not succeed, a
  name waits 1 s, then 2, 4 ... up to 15 minutes before the next try is even checked; the same for a name
  that has no account, so the lockout says nothing about which names exist. A try is counted *before* its
  password is checked, in one transaction that holds the name's row (``signin_throttle``), so tries made
  in parallel are held to the same rate as tries made one at a time: a name gets at most
  ``FREE_TRIES + 1 + log2(T)`` passwords checked in T seconds, however many run at once. Over all names,
  at most ``global_limit()`` tries a minute (``QUARTERHOUR_SIGNIN_PER_MINUTE``, default 120) that do not
  succeed: past it every password sign-in waits for the minute to end (against spraying many names).
- An unknown name, a wrong password and a disabled account get the same answer after the same work (the
  password is always checked against a hash: the account's, or a dummy one of the same cost).
- Names are kept normalised (Unicode NFKC, trimmed, inner spaces made one); a new name that looks like an
  existing one (``skeleton``: case, homoglyphs such as Cyrillic "а" for "a", "0" for "O") is refused.
- A sign-in gives a random token; the store keeps only its SHA-256 and an expiry
  (``QUARTERHOUR_SESSION_HOURS``, default 8). Disabling an account ends its sessions.
- Single sign-on (Streamlit's ``st.login``): the organisation's identity provider says who the person is
  (``st.user``); ``sso_actor`` finds the account that identity was given to (``users add --oidc``), which
  must exist and be enabled. Only an e-mail the provider says is verified (``email_verified`` the boolean
  true) counts; the subject is matched exactly, as ``sub:<subject>``, never as an e-mail. An account made
  for single sign-on only has no password that can match.

Examples
--------
>>> from quarterhour.workspace import Store
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
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session, sessionmaker

from quarterhour.workspace.access import ACCOUNT_ROLES, Actor
from quarterhour.workspace.audit import log
from quarterhour.workspace.errors import WorkspaceError
from quarterhour.workspace.models import Account, SignIn, SignInThrottle

__all__ = [
    "ACCOUNT_ROLES",
    "FREE_TRIES",
    "MAX_SESSION_HOURS",
    "AccountInfo",
    "Accounts",
    "SignInRefused",
    "global_limit",
    "normalise_name",
    "session_hours",
    "skeleton",
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


def _wrong() -> SignInRefused:
    return SignInRefused.said(
        "signin_wrong", "wrong name or password", fix="check both and try again; if it keeps failing, ask an admin"
    )


def _locked(wait: float) -> SignInRefused:
    seconds = max(round(wait), 1)
    return SignInRefused.said(
        "signin_locked",
        f"too many tries for this name: the next try is checked in {seconds} s",
        fix="wait, then try again; an admin can help",
        seconds=seconds,
    )


def _busy(wait: float) -> SignInRefused:
    seconds = max(round(wait), 1)
    return SignInRefused.said(
        "signin_busy",
        f"too many failed sign-ins on this server: the next try is checked in {seconds} s",
        fix="wait, then try again; tell an admin, someone may be guessing passwords",
        seconds=seconds,
    )


_GLOBAL = "*"
_WINDOW = dt.timedelta(minutes=1)


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
    """An identity as kept: an e-mail in lower case (providers differ in case), a subject as ``sub:<subject>``.

    ``sub:abc@x`` names a subject that contains ``@`` (it is not an e-mail).

    Examples
    --------
    >>> sso_identity(" Zhou@Luoyang.gov.cn "), sso_identity("7c1e"), sso_identity("sub:a@b")
    ('zhou@luoyang.gov.cn', 'sub:7c1e', 'sub:a@b')
    """
    value = value.strip()
    if value.startswith("sub:"):
        return value
    return value.lower() if "@" in value else f"sub:{value}"


_SPACES = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff\u00ad")
#: letters that look alike (Cyrillic and Greek capitals and small letters, digits): mapped to one Latin letter
_CONFUSABLE = str.maketrans(
    {
        ch: latin
        for latin, alike in {
            "a": "аα",
            "e": "еЕΕ",
            "o": "оοОΟ0O",
            "p": "рРρΡ",
            "c": "сС",
            "y": "уУΥγ",
            "x": "хХχΧ",
            "i": "іІιΙ",
            "j": "јЈ",
            "s": "ѕЅ",
            "d": "ԁ",
            "q": "ԛ",
            "w": "ԝ",
            "h": "һНΗ",
            "l": "ӏ1Il|",
            "b": "ВΒ",
            "k": "КκΚ",
            "m": "МΜ",
            "t": "ТτΤ",
            "n": "Ν",
            "v": "ν",
            "z": "Ζ",
            "A": "АΑ",
        }.items()
        for ch in alike
    }
)


def normalise_name(name: str) -> str:
    """A name as kept and looked up: Unicode NFKC (full-width letters made plain), trimmed, one space inside.

    Examples
    --------
    >>> normalise_name("  ｗａｎｇ  xiao\u200b ")
    'wang xiao'
    """
    return " ".join(unicodedata.normalize("NFKC", str(name)).translate(_SPACES).split())


def skeleton(name: str) -> str:
    """What a name looks like: two names with one skeleton are lookalikes (one is refused as a new account).

    Examples
    --------
    >>> skeleton("Wang") == skeleton("wаng") == skeleton("WANG ") == skeleton("w a n g")
    True
    >>> skeleton("wang") == skeleton("wong")
    False
    >>> skeleton("li1") == skeleton("lil") == skeleton("LiI")
    True
    """
    text = normalise_name(name).translate(_CONFUSABLE).casefold().replace(" ", "").replace("rn", "m")
    return text.translate(_CONFUSABLE)


def global_limit() -> int:
    """Sign-ins a minute that may fail over all names: ``QUARTERHOUR_SIGNIN_PER_MINUTE`` (default 120)."""
    try:
        return max(int(os.environ.get("QUARTERHOUR_SIGNIN_PER_MINUTE", "120")), 1)
    except ValueError:
        return 120


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
            "accounts_quarterhour_session_hours_raw", raw_40=raw[:40], max_session_hours=MAX_SESSION_HOURS
        )
    return hours


def _check_new(name: str, password: str | None, *, role: str, units: tuple[str, ...], oidc: str | None) -> None:
    """A new account's name, role, units, password and single sign-on identity, each checked (``Accounts.add``)."""
    if not name or len(name) > 100:
        raise WorkspaceError("accounts_account_needs_name_at")
    if name == _GLOBAL or name.startswith("operator:"):
        raise WorkspaceError("accounts_name_cannot_account_s", name=name)
    _check_role(role, units)
    if (password is not None or oidc is None) and len(password or "") < MIN_PASSWORD:
        raise WorkspaceError("accounts_password_shorter_than_min", min_password=MIN_PASSWORD)
    if oidc and len(oidc) > 320:
        raise WorkspaceError("accounts_single_sign_identity_longer")


def _check_free(s: Session, name: str, oidc: str | None) -> None:
    """The name (and any lookalike of it) and the single sign-on identity are no other account's."""
    if s.scalar(sa.select(Account.id).where(Account.name == name)) is not None:
        raise WorkspaceError("accounts_there_already_account_name", name=name)
    shape = skeleton(name)
    alike = next((n for n in s.scalars(sa.select(Account.name)) if skeleton(n) == shape), None)
    if alike is not None:
        raise WorkspaceError.said(
            "name_lookalike",
            f"'{name}' looks like the existing account '{alike}'",
            fix="choose a name that cannot be mistaken for another",
            name=name,
            other=alike,
        )
    if oidc and s.scalar(sa.select(Account.name).where(Account.oidc == oidc)) is not None:
        raise WorkspaceError("accounts_oidc_already_signs_another", oidc=_shown(oidc))


class Accounts:
    """The accounts of a workspace (``workspace.Store``).

    ``by``: the account making a change to accounts, written to the audit log (None: the log says ``-``).
    """

    def __init__(self, store: object) -> None:
        self._session = sessionmaker(store.engine, expire_on_commit=False)
        self._dialect = store.engine.dialect.name

    def any(self) -> bool:
        """Whether the workspace has accounts: then the app asks to sign in; without, it runs for one local user."""
        with self._session() as s:
            return s.scalar(sa.select(sa.func.count(Account.id))) > 0

    def add(
        self,
        name: str,
        password: str | None,
        *,
        role: str,
        units: tuple[str, ...] = (),
        oidc: str | None = None,
        by: Actor | None = None,
    ) -> Actor:
        """A new account; a planner needs its units (review unit codes).

        ``oidc``: the single sign-on identity (the e-mail, or the provider's ``sub``) that signs in as this
        account; with it, the password may be None (the account signs in only through single sign-on).
        """
        name = normalise_name(name)
        oidc = sso_identity(oidc) if oidc and oidc.strip() else None
        units = _clean_units(units)
        _check_new(name, password, role=role, units=units, oidc=oidc)
        with self._session.begin() as s:
            _check_free(s, name, oidc)
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
            detail = f"{name}: {role}" + (f" {','.join(units)}" if units else "") + (f" sso {oidc}" if oidc else "")
            log(s, by, "account_add", detail=detail)
        return Actor(name, role, units)

    def list(self) -> list[AccountInfo]:
        """Every account, by name."""
        with self._session() as s:
            return [
                AccountInfo(a.name, a.role, _units(a.units), a.disabled, _utc(a.last_sign_in), _shown(a.oidc))
                for a in s.scalars(sa.select(Account).order_by(Account.name))
            ]

    def _change(self, name: str, by: Actor | None, action: str, detail: str, how: object) -> None:
        """Change one account in one transaction, with its line in the audit log."""
        name = normalise_name(name)
        with self._session.begin() as s:
            account = s.scalar(sa.select(Account).where(Account.name == name))
            if account is None:
                raise WorkspaceError("accounts_no_account_name", name=name)
            how(s, account)
            log(s, by, action, detail=f"{name}: {detail}" if detail else name)

    def disable(self, name: str, *, by: Actor | None = None) -> None:
        """Disable an account: it can no longer sign in, and its sessions end now."""

        def off(s: Session, account: Account) -> None:
            account.disabled = True
            s.execute(sa.delete(SignIn).where(SignIn.account_id == account.id))

        self._change(name, by, "account_disable", "", off)

    def enable(self, name: str, *, by: Actor | None = None) -> None:
        """Enable a disabled account again (its failed tries forgotten)."""

        def on(s: Session, account: Account) -> None:
            account.disabled, account.failed, account.locked_until = False, 0, None
            s.execute(sa.delete(SignInThrottle).where(SignInThrottle.name == _throttle_key(account.name)))

        self._change(name, by, "account_enable", "", on)

    def set_role(self, name: str, role: str, *, by: Actor | None = None) -> None:
        """Give an account another role (a planner keeps its units; a planner needs some); its sessions end."""

        def move(s: Session, account: Account) -> None:
            _check_role(role, _units(account.units))
            account.role = role
            s.execute(sa.delete(SignIn).where(SignIn.account_id == account.id))

        self._change(name, by, "account_role", role, move)

    def set_units(self, name: str, units: tuple[str, ...], *, by: Actor | None = None) -> None:
        """Give an account other units (check the codes against the unit tree first: ``Store.known_units``)."""
        units = _clean_units(units)

        def move(s: Session, account: Account) -> None:
            _check_role(account.role, units)
            account.units = ",".join(units)
            s.execute(sa.delete(SignIn).where(SignIn.account_id == account.id))

        self._change(name, by, "account_units", ",".join(units), move)

    def reset_password(self, name: str, password: str, *, by: Actor | None = None) -> None:
        """Set a new password (its sessions end, its failed tries are forgotten)."""
        if len(password or "") < MIN_PASSWORD:
            raise WorkspaceError("accounts_password_shorter_than_min_2", min_password=MIN_PASSWORD)
        hashed = _HASHER.hash(password)

        def reset(s: Session, account: Account) -> None:
            account.password_hash, account.failed, account.locked_until = hashed, 0, None
            s.execute(sa.delete(SignIn).where(SignIn.account_id == account.id))
            s.execute(sa.delete(SignInThrottle).where(SignInThrottle.name == _throttle_key(account.name)))

        self._change(name, by, "account_password", "", reset)

    # signing in -----------------------------------------------------------------------------------------------
    def sign_in(self, name: str, password: str, *, now: dt.datetime | None = None) -> tuple[str, Actor]:
        """Check a name and password: a session token and the account, or ``SignInRefused``.

        1. One transaction holds the name's throttle row (and the global one), refuses a locked name at once,
           and otherwise counts the try as failed (setting the wait that would follow) before any password
           is checked: parallel tries queue on the row and cannot pass the count.
        2. The password is checked outside any transaction, always against a hash of the same cost.
        3. A success resets the name's count and makes the session; a refusal is written to the audit log.
        """
        now = now or _now()
        name = normalise_name(name)[:100]
        key = _throttle_key(name)
        with self._session.begin() as s:
            refused = self._reserve(s, key, now)
            account = None if refused else s.scalar(sa.select(Account).where(Account.name == name))
            hashed = account.password_hash if account is not None else _DUMMY
            account_id = account.id if account is not None else None
        if refused is None:
            right = _verify(hashed, password) and account is not None
            refused = None if right and not account.disabled else _wrong()
        with self._session.begin() as s:
            if refused is not None:
                log(s, None, "sign_in_refused", name=name, detail=refused.key or "")
            else:
                account = s.get(Account, account_id)
                if _HASHER.check_needs_rehash(account.password_hash):
                    account.password_hash = _HASHER.hash(password)
                account.failed, account.locked_until, account.last_sign_in = 0, None, now
                s.execute(
                    sa.update(SignInThrottle).where(SignInThrottle.name == key).values(failed=0, locked_until=None)
                )
                s.execute(
                    sa.update(SignInThrottle)
                    .where(SignInThrottle.name == _GLOBAL, SignInThrottle.failed > 0)
                    .values(failed=SignInThrottle.failed - 1)
                )
                token = secrets.token_urlsafe(32)
                expires = now + dt.timedelta(hours=session_hours())
                s.add(SignIn(token_sha=_sha(token), account_id=account.id, expires_at=expires))
                who = Actor(account.name, account.role, _units(account.units))
                log(s, who, "sign_in")
        if refused is not None:
            raise refused
        return token, who

    def _reserve(self, s: Session, key: str, now: dt.datetime) -> SignInRefused | None:
        """Hold the global and the name's rows; a refusal if either is locked, else count this try as failed.

        The first statement writes (an insert that may do nothing), so SQLite takes its write lock here and
        PostgreSQL then holds each row (``FOR UPDATE``), the global one first: every sign-in in the same order.
        """
        if self._dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        rows = []
        for k in (_GLOBAL, key):
            s.execute(insert(SignInThrottle).values(name=k, failed=0).on_conflict_do_nothing(index_elements=["name"]))
            rows.append(s.scalars(sa.select(SignInThrottle).where(SignInThrottle.name == k).with_for_update()).one())
        every, one = rows
        started = _utc(every.window_start)
        if started is None or now - started >= _WINDOW or started > now:
            every.window_start, every.failed = now, 0
            started = now
        if every.failed >= global_limit():
            return _busy((started + _WINDOW - now).total_seconds())
        locked = _utc(one.locked_until)
        if locked and locked > now:
            return _locked((locked - now).total_seconds())
        one.failed += 1
        every.failed += 1
        if one.failed >= FREE_TRIES:
            one.locked_until = now + dt.timedelta(seconds=min(2 ** (one.failed - FREE_TRIES), MAX_WAIT_S))
        return None

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

        ``user`` is what ``st.user`` holds after ``st.login``: the provider's claims. Its ``email``, only when
        the provider says it is verified (``email_verified`` is the boolean true; "false", "0", 0 or missing
        do not count), else its ``sub`` (matched exactly, as ``sub:<sub>``), must be the ``oidc`` of an
        enabled account. A ``sub`` that contains ``@`` is a subject, never an e-mail.
        """
        email, sub = user.get("email"), user.get("sub")
        tried = []
        if user.get("email_verified") is True and isinstance(email, str) and "@" in email and email.strip():
            tried.append(email.strip().lower())
        if isinstance(sub, str) and sub:
            tried.append(f"sub:{sub}")
        if not tried:
            raise SignInRefused.said(
                "sso_none",
                "the organisation's sign-in gave no verified e-mail or subject",
                fix="ask an admin",
            )
        with self._session.begin() as s:
            found = {a.oidc: a for a in s.scalars(sa.select(Account).where(Account.oidc.in_(tried)))}
            account = next((found[v] for v in tried if v in found), None)  # the e-mail first, then the sub
            if account is None or account.disabled:
                log(s, None, "sign_in_refused", name=_shown(tried[0]), detail="sso")
        if account is None:
            raise SignInRefused.said(
                "sso_unknown",
                f"no workspace account for {_shown(tried[0])}",
                fix=f"ask an admin: quarterhour users add NAME --role planner --units CODES --oidc {tried[0]}",
                who=_shown(tried[0]),
            )
        if account.disabled:
            raise SignInRefused.said("sso_disabled", "this account is disabled", fix="ask an admin")
        with self._session.begin() as s:
            s.execute(sa.update(Account).where(Account.id == account.id).values(last_sign_in=now or _now()))
            who = Actor(account.name, account.role, _units(account.units))
            log(s, who, "sign_in_sso")
        return who

    def sign_out(self, token: str) -> None:
        """End a session."""
        with self._session.begin() as s:
            s.execute(sa.delete(SignIn).where(SignIn.token_sha == _sha(token)))


def _shown(oidc: str | None) -> str | None:
    """An identity as an admin typed it: the e-mail, or the subject without its ``sub:``."""
    return oidc[4:] if oidc and oidc.startswith("sub:") else oidc


def _throttle_key(name: str) -> str:
    """The throttle row of a name: its skeleton, so lookalikes of a name share its count."""
    return (skeleton(name) or "-")[:100]


def _clean_units(units: object) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(normalise_name(u) for u in units if normalise_name(u)))
    too_long = [u for u in cleaned if len(u) > 100]
    if too_long:
        raise WorkspaceError("accounts_unit_code_longer_than", too_long_0=too_long[0][:40])
    return cleaned


def _check_role(role: str, units: tuple[str, ...]) -> None:
    if role not in ACCOUNT_ROLES:
        raise WorkspaceError("accounts_unknown_role_role", role=role, account_roles=", ".join(ACCOUNT_ROLES))
    if role == "planner" and not units:
        raise WorkspaceError("accounts_planner_needs_units_they")


def _verify(hashed: str, password: str) -> bool:
    """Whether the password matches; a hash that is none (an SSO-only account) costs a dummy check all the same."""
    try:
        return _HASHER.verify(hashed, password)
    except InvalidHashError:
        _verify(_DUMMY, password)
        return False
    except VerificationError:
        return False
