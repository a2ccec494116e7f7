"""Who is asking: an account's name, role and units, and what each role may do.

- ``planner``: reads and writes the scenarios of its own units (``units``: review unit codes);
- ``reviewer``: the city reviewer reads every scenario and sets the review status;
- ``admin``: manages accounts, and reads and writes everything;
- ``local``: the one user of a workspace with no accounts (the app as it runs out of the box).

Examples
--------
>>> planner = Actor("wang", "planner", ("MC-D1",))
>>> planner.may_read("MC-D1"), planner.may_read("MC-D2"), REVIEWER_ROLES
(True, False, ('reviewer', 'admin', 'local'))
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

__all__ = ["ACCOUNT_ROLES", "REVIEWER_ROLES", "ROLES", "STATUSES", "Actor", "local_actor"]

ROLES = ("planner", "reviewer", "admin", "local")
#: The roles an account can have (``local`` is the user of a workspace without accounts).
ACCOUNT_ROLES = ROLES[:3]
#: A scenario's review status, in the order it moves.
STATUSES = ("draft", "submitted", "reviewed")
#: The roles that set a scenario's status to reviewed.
REVIEWER_ROLES = ("reviewer", "admin", "local")


@dataclass(frozen=True)
class Actor:
    """An account as the store sees it."""

    name: str
    role: str = "local"
    units: tuple[str, ...] = ()  #: a planner's review unit codes

    def may_read(self, unit: str) -> bool:
        """Whether this account may see the scenarios of ``unit``."""
        return self.role != "planner" or unit in self.units

    def may_write(self, unit: str) -> bool:
        """Whether this account may make or change scenarios of ``unit`` (a reviewer only reviews)."""
        return self.role in ("admin", "local") or (self.role == "planner" and unit in self.units)


def local_actor() -> Actor:
    """The one user of a workspace without accounts: the operating system's user name."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in a container: still one local user
        name = "local"
    return Actor(name or "local", "local")
