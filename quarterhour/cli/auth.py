"""Who runs a workspace command: ``quarterhour login``/``logout``, ``--user NAME``, ``--admin``, ``quarterhour audit``.

Every command that reads or changes the workspace (``scenarios``, ``users``, ``audit``) acts as an account,
under the same rules as the app (``quarterhour.workspace.access``, ``quarterhour.workspace.store``):

- ``quarterhour login`` signs in once (name and password, the same lockout as the app) and keeps the
  session's token in the user's config folder (``sessions.json``, mode 0600, one token per database); the
  commands after it act as that account until the session ends (``QUARTERHOUR_SESSION_HOURS``) or
  ``quarterhour logout``;
- ``--user NAME`` signs in for one command: the password is asked for on the terminal, or read from
  ``QUARTERHOUR_PASSWORD`` (for scripts and tests; never an argument, which the process list shows);
- ``--admin``: the server's operator, who holds the database itself (its file, or its PostgreSQL
  credentials), acts as the admin ``operator:<OS user>``; each such command is written to the audit log;
- a workspace without accounts has one local user, as the app does (named by the OS account's uid, never
  by ``$USER``); with accounts, a command without a sign-in is refused.

Errors are printed in the language ``cli_lang`` finds: ``--lang``, else ``QUARTERHOUR_LANG``, else the
system locale.
"""

from __future__ import annotations

import argparse
import getpass
import json
import locale
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import InputError
from geo.private import write_private
from geo.words import lang_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from quarterhour.workspace import Actor, Store

__all__ = [
    "acting",
    "add_audit_parser",
    "add_login_parsers",
    "audit_command",
    "auth_options",
    "cli_lang",
    "login_command",
    "logout_command",
    "token_file",
]


def cli_lang(argv: Sequence[str] | None = None) -> str:
    """The language of the command's messages: ``zh`` or ``en``.

    The first that is given: ``--lang zh|en`` in ``argv`` (before the command, or a command's own ``--lang``);
    ``QUARTERHOUR_LANG``; the system locale, as POSIX orders it (``LC_ALL``, ``LC_MESSAGES``, ``LANG``; on
    Windows the user's locale): Chinese (``zh_CN.UTF-8``, ``zh_TW``, ``Chinese (Simplified)_China``) gives
    ``zh``, any other locale, ``C`` or none gives ``en``, the language of the command's own help.

    Examples
    --------
    >>> cli_lang(["--lang", "zh", "run"]), cli_lang(["report", "--lang=en"])
    ('zh', 'en')
    """
    args = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return lang_of(args[i + 1])
        if arg.startswith("--lang="):
            return lang_of(arg.removeprefix("--lang="))
    if os.environ.get("QUARTERHOUR_LANG", "").strip():
        return lang_of(os.environ["QUARTERHOUR_LANG"])
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(name, "").strip():
            return "zh" if value.lower().startswith("zh") else "en"
    if sys.platform == "win32":  # no POSIX variables: the user's locale
        found = locale.getlocale()[0] or ""
        return "zh" if found.lower().startswith(("zh", "chinese")) else "en"
    return "en"


def auth_options(parser: argparse.ArgumentParser) -> None:
    """``--user NAME`` and ``--admin`` on a workspace command."""
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--user",
        metavar="NAME",
        help="act as this account for this command: the password is asked for (or read from QUARTERHOUR_PASSWORD)",
    )
    who.add_argument(
        "--admin",
        action="store_true",
        help="the server's operator, who holds the database: act as admin (written to the audit log)",
    )


def add_login_parsers(sub: argparse._SubParsersAction) -> None:
    """``quarterhour login`` and ``quarterhour logout``."""
    login = sub.add_parser(
        "login",
        help="sign in to the workspace: the commands after it act as this account",
        description="Sign in to the planning workspace; the session's token is kept in your config folder (0600).",
    )
    login.add_argument("name", nargs="?", help="the account (asked for when not given)")
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (else it is asked for)"
    )
    sub.add_parser("logout", help="end the workspace session that quarterhour login began")


def add_audit_parser(sub: argparse._SubParsersAction) -> None:
    """``quarterhour audit``: the audit log, for city administrators."""
    p = sub.add_parser(
        "audit",
        help="the workspace's audit log: who did what, when, to which scenario (city administrators)",
        description="The audit log of the planning workspace, newest first (for admins).",
    )
    p.add_argument("--limit", type=int, default=50, help="how many lines (default 50)")
    p.add_argument("--actor", help="only this account's actions")
    p.add_argument("--action", help="only this action (sign_in, sign_in_refused, create, change, submit, review, ...)")
    p.add_argument("--scenario", type=int, help="only this scenario's")
    auth_options(p)


def token_file() -> Path:
    """Where ``quarterhour login`` keeps its tokens: ``sessions.json`` in the user's config folder."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("quarterhour", appauthor=False)) / "sessions.json"


def _place(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


def _tokens() -> dict[str, str]:
    try:
        found = json.loads(token_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _keep_tokens(tokens: dict[str, str]) -> None:
    """Write the tokens atomically, readable by this user only (0600, its folder 0700)."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, json.dumps(tokens).encode("utf-8"))


def _password(prompt: str, from_stdin: bool = False) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("QUARTERHOUR_PASSWORD")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise InputError("cli_auth_no_terminal_ask_password")
    return getpass.getpass(prompt)


def acting(args: argparse.Namespace, store: Store, command: str) -> Actor:
    """The account a command acts as (``--admin``, ``--user``, the ``login`` token), or a refusal.

    ``command`` says what is run, for the audit line of ``--admin``.
    """
    from quarterhour.workspace.access import local_actor, operator_actor
    from quarterhour.workspace.accounts import Accounts
    from quarterhour.workspace.audit import record
    from quarterhour.workspace.errors import NotAllowed

    accounts = Accounts(store)
    if getattr(args, "admin", False):
        who = operator_actor()
        record(store, who, "admin_mode", detail=command)
        return who
    name = getattr(args, "user", None)
    if name:
        token, who = accounts.sign_in(name, _password(f"password for {name}: "))
        accounts.sign_out(token)  # a session for this one command only
        return who
    token = _tokens().get(_place(store))
    if token:
        who = accounts.actor(token)
        if who is not None:
            return who
        raise NotAllowed.said(
            "cli_session_ended",
            "your workspace session has ended (expired, signed out, or the account changed)",
            fix="sign in again: quarterhour login",
        )
    if not accounts.any():
        return local_actor()
    raise NotAllowed.said(
        "cli_sign_in",
        "this workspace has accounts: a command acts as one",
        fix="sign in with quarterhour login (or --user NAME); the server's operator may use --admin",
    )


def login_command(args: argparse.Namespace) -> int:
    """``quarterhour login [NAME]``: sign in and keep the token for the commands that follow."""
    from quarterhour.workspace import open_store
    from quarterhour.workspace.accounts import Accounts

    store = open_store()
    name = args.name
    if not name:
        if not sys.stdin.isatty():
            raise InputError("cli_auth_no_account_named")
        name = input("account: ")
    token, who = Accounts(store).sign_in(name, _password("password: ", args.password_stdin))
    tokens = _tokens()
    tokens[_place(store)] = token
    _keep_tokens(tokens)
    print(f"signed in as {who.name} ({who.role}); quarterhour logout ends the session")
    return 0


def logout_command(_args: argparse.Namespace) -> int:
    """``quarterhour logout``: end the session and forget its token."""
    from quarterhour.workspace import open_store
    from quarterhour.workspace.accounts import Accounts

    store = open_store()
    tokens = _tokens()
    token = tokens.pop(_place(store), None)
    if token:
        Accounts(store).sign_out(token)
        _keep_tokens(tokens)
        print("signed out")
    else:
        print("not signed in")
    return 0


def audit_command(args: argparse.Namespace) -> int:
    """``quarterhour audit``: the newest lines of the audit log (admins only)."""
    from quarterhour.workspace import open_store
    from quarterhour.workspace.audit import entries

    store = open_store()
    who = acting(args, store, "audit")
    lines = entries(store, who, limit=args.limit, actor=args.actor, action=args.action, scenario_id=args.scenario)
    for e in lines:
        what = f"scenario {e.scenario_id}" + (f" v{e.version}" if e.version else "") if e.scenario_id else "-"
        print(
            f"{e.at.astimezone():%Y-%m-%d %H:%M:%S}\t{e.actor or '-'}\t{e.role or '-'}\t{e.action}\t{what}\t{e.detail}"
        )
    if not lines:
        print("no lines in the audit log")
    return 0
