"""``quarterhour users add|list|disable``: the workspace's accounts, for whoever runs the server (the admin).

A password is never an argument (it would stay in the shell's history and show in the process list):
it is asked for twice on a terminal, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from geo.errors import InputError
from workspace.access import ACCOUNT_ROLES

__all__ = ["add_users_parser", "users_command"]


def add_users_parser(sub: argparse._SubParsersAction) -> None:
    """``quarterhour users add|list|disable``."""
    p = sub.add_parser(
        "users",
        help="the workspace's accounts: add, list, disable (with accounts, the app asks to sign in)",
        description="Accounts of the planning workspace (QUARTERHOUR_DATABASE_URL, else the SQLite file in your "
        "data folder). Passwords are kept as argon2 hashes only.",
    )
    what = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    add = what.add_parser("add", help="a new account (the password is asked for, or read with --password-stdin)")
    add.add_argument("name", help="the sign-in name")
    add.add_argument("--role", choices=ACCOUNT_ROLES, required=True, help="planner, reviewer (city) or admin")
    add.add_argument("--units", default="", help="a planner's review unit codes, comma-separated (e.g. MC-D1)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument(
        "--oidc",
        metavar="EMAIL",
        help="the single sign-on identity (the e-mail the organisation's sign-in gives, or its subject) that signs "
        "in as this account; without --password-stdin the account has no password and signs in only that way",
    )
    what.add_parser("list", help="the accounts: name, role, units, enabled, last sign-in")
    off = what.add_parser("disable", help="stop an account signing in; its sessions end now")
    off.add_argument("name", help="the account")


def users_command(args: argparse.Namespace) -> int:
    """Run ``quarterhour users ACTION`` (a database failing in use: ``workspace.db.database_problems``)."""
    from workspace.db import database_problems

    with database_problems():
        return _users_command(args)


def _users_command(args: argparse.Namespace) -> int:
    from workspace import open_store
    from workspace.accounts import Accounts, session_hours

    session_hours()  # a setting every sign-in would trip on is refused now, with the fix

    accounts = Accounts(open_store())
    if args.action == "add":
        units = tuple(u for u in args.units.split(",") if u.strip())
        password = None if args.oidc and not args.password_stdin else _password(args.password_stdin)
        made = accounts.add(args.name, password, role=args.role, units=units, oidc=args.oidc)
        print(
            f"added {made.role} '{made.name}'"
            + (f" for {', '.join(made.units)}" if made.units else "")
            + (f", signing in as {args.oidc.strip()} through single sign-on" if args.oidc else "")
        )
    elif args.action == "disable":
        accounts.disable(args.name)
        print(f"disabled '{args.name}': it can no longer sign in")
    else:
        for a in accounts.list():
            seen = f"{a.last_sign_in.astimezone():%Y-%m-%d %H:%M}" if a.last_sign_in else "never"
            state = "disabled" if a.disabled else "enabled"
            sso = f"\tsingle sign-on {a.oidc}" if a.oidc else ""
            print(f"{a.name}\t{a.role}\t{','.join(a.units) or '-'}\t{state}\tlast sign-in {seen}{sso}")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask the password on", fix="pipe it in with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("the two passwords differ", fix="type the same password twice")
    return first
