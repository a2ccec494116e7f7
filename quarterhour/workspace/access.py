"""Who is asking: an account's name, role and units, and what each role may do.

- ``planner``: reads and writes the scenarios of its own units (``units``: review unit codes) and of the
  units inside them: a district's planner those of its 街道, 社区 and 网格, a sub-district's planner not the
  district's (``lineage``); a grid (网格) has no statistical code: it lies in the community of the
  project's unit tree (``analysis.unittree``);
- ``reviewer``: the city reviewer reads every scenario and sets the review status;
- ``admin``: manages accounts, and reads and writes everything;
- ``local``: the one user of a workspace with no accounts (the app as it runs out of the box).

Examples
--------
>>> planner = Actor("wang", "planner", ("MC-D1",))
>>> planner.may_read("MC-D1"), planner.may_read("MC-D2"), REVIEWER_ROLES
(True, False, ('reviewer', 'admin', 'local'))
>>> planner.may_write("MC-S01", {"MC-S01": "MC-D1"}), Actor("wu", "planner", ("410302",)).may_write("410302001001")
(True, True)
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ACCOUNT_ROLES",
    "REVIEWER_ROLES",
    "ROLES",
    "STATUSES",
    "Actor",
    "code_parent",
    "lineage",
    "local_actor",
    "operator_actor",
    "os_user",
]

ROLES = ("planner", "reviewer", "admin", "local")
#: The roles an account can have (``local`` is the user of a workspace without accounts).
ACCOUNT_ROLES = ROLES[:3]
#: A scenario's review status, in the order it moves.
STATUSES = ("draft", "submitted", "reviewed")
#: The roles that set a scenario's status to reviewed.
REVIEWER_ROLES = ("reviewer", "admin", "local")


def code_parent(code: str) -> str | None:
    """The unit an official statistical division code (统计用区划代码) lies in, by its digits; None for other codes.

    The National Bureau of Statistics' codes nest by prefix: a community or village (社区, 村, 12 digits)
    lies in the sub-district of its first 9 digits (街道, 镇, 乡), which lies in the district of its first 6
    (410302001001 → 410302001 → 410302), which lies in the city of its first 4 followed by 00 (→ 410300).
    ``data/luoyang/divisions.csv`` holds Luoyang's, each with its parent code, and a test checks the rule
    against every row.
    """
    if not code.isdigit():
        return None
    if len(code) in (9, 12):
        return code[:-3]
    if len(code) == 6 and not code.endswith("00"):
        return code[:4] + "00"
    return None


def lineage(unit: str, parents: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``unit`` and the units it lies in, nearest first.

    ``parents`` is the project's tree (each unit's code → the code of the unit it lies in, found from the
    review units' polygons by the app or the CLI); where it says nothing, the statistical code rule
    (``code_parent``) does.
    """
    parents = parents or {}
    chain = [unit]
    while True:
        up = parents.get(chain[-1]) or code_parent(chain[-1])
        if not up or up in chain:
            return tuple(chain)
        chain.append(up)


@dataclass(frozen=True)
class Actor:
    """An account as the store sees it."""

    name: str
    role: str = "local"
    units: tuple[str, ...] = ()  #: a planner's review unit codes

    def in_scope(self, unit: str, parents: Mapping[str, str] | None = None) -> bool:
        """Whether ``unit`` is one of this account's units or lies inside one (``lineage``)."""
        return bool(self.units) and any(u in self.units for u in lineage(unit, parents))

    def may_read(self, unit: str, parents: Mapping[str, str] | None = None, *, author: str | None = None) -> bool:
        """Whether this account may see the scenarios of ``unit`` (``parents``: the project's unit tree).

        A planner sees their units' scenarios and their own (``author``), nobody else's.
        """
        return self.role != "planner" or self.in_scope(unit, parents) or (author is not None and author == self.name)

    def may_write(self, unit: str, parents: Mapping[str, str] | None = None) -> bool:
        """Whether this account may make or change scenarios of ``unit`` (a reviewer only reviews)."""
        return self.role in ("admin", "local") or (self.role == "planner" and self.in_scope(unit, parents))


def os_user() -> str:
    """The operating system's account running this process, by its uid (never ``$USER``, which anyone can set)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name or "local"
    except (ImportError, KeyError, OSError):  # no passwd entry in a container; Windows: the login name
        try:
            return getpass.getuser() if os.name == "nt" else "local"
        except (KeyError, OSError):
            return "local"


def local_actor() -> Actor:
    """The one user of a workspace without accounts: the operating system's user (by uid, not ``$USER``)."""
    return Actor(os_user(), "local")


def operator_actor() -> Actor:
    """The server's operator (``quarterhour ... --admin``): an admin named ``operator:<OS user>``, audited."""
    return Actor(f"operator:{os_user()}"[:100], "admin")
