"""``quarterhour users add|list|disable|enable|set-role|set-units|reset-password``: the workspace's accounts.

Only an admin acts on accounts: an admin account signed in (``quarterhour login``, ``--user``), or the
server's operator with ``--admin``; in a workspace without accounts yet, the local user adds the first.
Each change is written to the audit log. Unit codes are checked against the unit tree (the units of the
projects in the workspace, the bundled sample's and Luoyang's official division codes): a typo such as
``41032`` is refused. Names are normalised and a lookalike of an existing name is refused
(``quarterhour.workspace.accounts``).

A password is never an argument (it would stay in the shell's history and show in the process list):
it is asked for twice on a terminal, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from geo.errors import InputError
from quarterhour.cli.auth import acting, auth_options
from quarterhour.workspace.access import ACCOUNT_ROLES

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
    auth_options(add)
    listing = what.add_parser("list", help="the accounts: name, role, units, enabled, last sign-in")
    auth_options(listing)
    off = what.add_parser("disable", help="stop an account signing in; its sessions end now")
    off.add_argument("name", help="the account")
    auth_options(off)
    on = what.add_parser("enable", help="let a disabled account sign in again")
    on.add_argument("name", help="the account")
    auth_options(on)
    role = what.add_parser("set-role", help="give an account another role (its sessions end)")
    role.add_argument("name", help="the account")
    role.add_argument("role", choices=ACCOUNT_ROLES, help="planner, reviewer (city) or admin")
    auth_options(role)
    units = what.add_parser("set-units", help="give a planner other review units (checked against the unit tree)")
    units.add_argument("name", help="the account")
    units.add_argument("units", help="review unit codes, comma-separated (e.g. 410302,410303)")
    auth_options(units)
    reset = what.add_parser("reset-password", help="set a new password (asked for, or --password-stdin)")
    reset.add_argument("name", help="the account")
    reset.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    auth_options(reset)


def users_command(args: argparse.Namespace) -> int:
    """Run ``quarterhour users ACTION`` (as an admin; a database failing in use: ``workspace.db.database_problems``)."""
    from quarterhour.workspace.db import database_problems

    with database_problems():
        return _users_command(args)


def _users_command(args: argparse.Namespace) -> int:
    from quarterhour.workspace import open_store
    from quarterhour.workspace.accounts import Accounts, session_hours
    from quarterhour.workspace.errors import NotAllowed

    session_hours()  # a setting every sign-in would trip on is refused now, with the fix

    store = open_store()
    who = acting(args, store, f"users {args.action}")
    if who.role not in ("admin", "local"):
        raise NotAllowed.said(
            "users_not_allowed",
            f"{who.name} ({who.role}) may not manage accounts",
            fix="an admin does: quarterhour login ADMIN, or the server's operator with --admin",
            name=who.name,
        )
    accounts = Accounts(store)
    if args.action == "add":
        units = _known(store, args.units)
        password = None if args.oidc and not args.password_stdin else _password(args.password_stdin)
        made = accounts.add(args.name, password, role=args.role, units=units, oidc=args.oidc, by=who)
        print(
            f"added {made.role} '{made.name}'"
            + (f" for {', '.join(made.units)}" if made.units else "")
            + (f", signing in as {args.oidc.strip()} through single sign-on" if args.oidc else "")
        )
    elif args.action == "disable":
        accounts.disable(args.name, by=who)
        print(f"disabled '{args.name}': it can no longer sign in")
    elif args.action == "enable":
        accounts.enable(args.name, by=who)
        print(f"enabled '{args.name}': it can sign in again")
    elif args.action == "set-role":
        accounts.set_role(args.name, args.role, by=who)
        print(f"'{args.name}' is now {args.role}")
    elif args.action == "set-units":
        units = _known(store, args.units)
        accounts.set_units(args.name, units, by=who)
        print(f"'{args.name}' now plans for {', '.join(units) or 'no unit'}")
    elif args.action == "reset-password":
        accounts.reset_password(args.name, _password(args.password_stdin), by=who)
        print(f"set a new password for '{args.name}'; its sessions have ended")
    else:
        for a in accounts.list():
            seen = f"{a.last_sign_in.astimezone():%Y-%m-%d %H:%M}" if a.last_sign_in else "never"
            state = "disabled" if a.disabled else "enabled"
            sso = f"\tsingle sign-on {a.oidc}" if a.oidc else ""
            print(f"{a.name}\t{a.role}\t{','.join(a.units) or '-'}\t{state}\tlast sign-in {seen}{sso}")
    return 0


def _known(store: object, text: str) -> tuple[str, ...]:
    """The unit codes of ``--units``, each one the unit tree knows, else a ``WorkspaceError`` naming it."""
    from quarterhour.workspace.accounts import normalise_name
    from quarterhour.workspace.errors import WorkspaceError

    units = tuple(dict.fromkeys(normalise_name(u) for u in text.split(",") if normalise_name(u)))
    if not units:
        return ()
    known = store.known_units() | _bundled_units()
    unknown = [u for u in units if u not in known]
    if unknown:
        near = sorted(k for k in known if k.startswith(unknown[0][:3]))[:5]
        raise WorkspaceError.said(
            "unknown_unit",
            f"no review unit '{unknown[0]}' in the unit tree",
            fix="check the code (e.g. 410302 for 西工区); open the data with its review units first"
            + (f"; codes alike: {', '.join(near)}" if near else ""),
            code=unknown[0],
            near=", ".join(near) or "-",
        )
    return units


def _bundled_units() -> set[str]:
    """The unit codes quarterhour ships: the sample's review units and Luoyang's official divisions."""
    import csv

    from geo import read_boundaries, sample_paths

    codes: set[str] = set()
    for levels in (read_boundaries(sample_paths()["boundaries"]), read_boundaries("luoyang")):
        for units in levels.values():
            codes |= set(units["code"].astype(str))
    divisions = Path(sample_paths()["boundaries"]).resolve().parents[1] / "luoyang" / "divisions.csv"
    if divisions.exists():
        with divisions.open(encoding="utf-8") as rows:
            for row in csv.DictReader(rows):
                codes |= {row["code"], row["parent_code"]}
    return codes


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise InputError("cli_users_no_terminal_ask_password")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("cli_users_two_passwords_differ")
    return first
