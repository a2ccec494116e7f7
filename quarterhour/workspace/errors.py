"""The workspace's refusals, each an ``InputError``: the app shows it, the CLI prints it and exits 2."""

from __future__ import annotations

from geo.errors import InputError

__all__ = ["NotAllowed", "StaleVersion", "WorkspaceError"]


class WorkspaceError(InputError):
    """The workspace cannot do what was asked: the message says why and what to do.

    ``key`` and ``values``, when set (``said``), name the message in ``quarterhour.i18n`` (``err_`` + key), so
    a face shows it in the planner's language; ``str()`` is the English.
    """

    key: str | None = None
    values: dict = {}  # noqa: RUF012 (replaced per instance by said)

    @classmethod
    def said(cls, key: str, problem: str, *, fix: str, **values: object) -> WorkspaceError:
        """An error whose words are ``err_<key>`` in ``quarterhour.i18n`` (``problem``/``fix``: the English)."""
        exc = cls(problem, fix=fix)
        exc.key, exc.values = key, values
        return exc


class NotAllowed(WorkspaceError):
    """The account may not read or change this scenario (another unit's, or a role that cannot)."""


class StaleVersion(WorkspaceError):
    """A save made on an older version than the scenario's newest: refused, nothing is overwritten.

    ``head`` is the newest version's number, to show the planner.
    """

    def __init__(self, problem: str, *, head: int, fix: str | None = None, **values: object) -> None:
        super().__init__(problem, fix=fix, head=head, **values) if values else super().__init__(problem, fix=fix)
        self.head = head
