"""The one error a planner sees: bad input, said so that it can be fixed."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Input that cannot be used as given.

    The message names the file, the row or column where known, what is wrong
    and how to fix it. The app shows it with ``st.error``; the CLI prints it as
    one ``error:`` line and exits with status 2.

    Examples
    --------
    >>> str(InputError("no 'pop' column", file="demand.csv", fix="add a resident count column 'pop'"))
    "demand.csv: no 'pop' column. Fix: add a resident count column 'pop'"
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        row: object | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem, self.file, self.row, self.column, self.fix = problem, file, row, column, fix
        where = ", ".join(
            part
            for part in (
                str(file) if file else None,
                f"row {row}" if row is not None else None,
                f"column '{column}'" if column else None,
            )
            if part
        )
        message = f"{where}: {problem}" if where else problem
        super().__init__(f"{message}. Fix: {fix}" if fix else message)
