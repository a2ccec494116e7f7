"""The one error a planner sees: bad input, said so that it can be fixed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geo.words import catalogue, error_entry, is_key, lang_of, render

__all__ = ["InputError", "plain_text", "reading"]


class InputError(ValueError):
    """Input that cannot be used as given.

    The message names the file, the row or column where known, what is wrong
    and how to fix it. The app shows it with ``st.error``; the CLI prints it as
    one ``error:`` line and exits with status 2.

    ``problem`` is the key of an error in the catalogue (``geo/locale/*.toml``, ``[errors.<key>]``: its
    ``problem`` and ``fix`` in Chinese and English) and ``values`` fill its placeholders; ``str()`` is the
    English, ``in_lang("zh")`` the Chinese. An English sentence (old style) still works, said as it is.

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
        **values: object,
    ) -> None:
        # ``problem`` is the key of an error in the catalogue (``geo.words``: ``errors.<key>``), its ``values`` the
        # placeholders; an old-style English sentence still works (said as it is, in every language).
        self.key: str | None = problem if is_key(problem) else None
        self.values = values
        self.file, self.row, self.column = file, row, column
        self.problem, self.fix, self._fix_given = problem, fix, fix
        if self.key:
            entry = error_entry(self.key, "en")
            self.problem = render(_problem(entry, values), values, "en")
            self.fix = _fix_in(fix, entry, values, "en")
        elif values:
            raise TypeError(f"InputError: no error '{problem}' in the catalogue (geo/locale/en.toml) for {values}")
        super().__init__(self.in_lang("en"))

    def in_lang(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``): the catalogue's words, or an old-style sentence as it is.

        Examples
        --------
        >>> e = InputError("tables_what_table_has_no", file="demand.csv", what="residents")
        >>> e.in_lang("en")
        'demand.csv: the residents table has no rows. Fix: check that the right file was given'
        >>> e.in_lang("zh")
        'demand.csv：居民表没有数据行。办法：检查给出的文件是否正确'
        """
        lang = lang_of(lang)
        key = getattr(self, "key", None)
        entry = error_entry(key, lang) if key else None
        if entry is None:  # an old-style sentence (or a key only a Python table knows): English, framed in English
            problem, fix, lang = self.problem, self.fix, "en"
        elif "message" in entry:
            return render(entry["message"], self.values, lang)
        else:
            problem = render(_problem(entry, self.values), self.values, lang)
            fix = _fix_in(getattr(self, "_fix_given", self.fix), entry, self.values, lang)
        frame = catalogue(lang)["frame"]
        where = frame["sep"].join(
            part
            for part in (
                str(self.file) if self.file else None,
                frame["row"].format(row=self.row) if self.row is not None else None,
                frame["column"].format(column=self.column) if self.column else None,
            )
            if part
        )
        message = frame["located"].format(where=where, problem=problem) if where else problem
        return frame["with_fix"].format(message=message, fix=fix) if fix else message


def _problem(entry: dict, values: dict) -> str:
    """The problem's words: ``problem_one`` (if the language has it) when ``n`` is 1, else ``problem``."""
    if values.get("n") == 1 and "problem_one" in entry:
        return entry["problem_one"]
    return entry.get("problem", entry.get("message", ""))


def _fix_in(fix: str | None, entry: dict, values: dict, lang: str) -> str | None:
    """The fix in ``lang``: the error's own, else the one given (a key of ``fixes``, or old-style English)."""
    if "fix" in entry:
        return render(entry["fix"], values, lang)
    fixes = catalogue(lang).get("fixes", {})
    return render(fixes[fix], values, lang) if fix in fixes else fix


# A file path as libraries write it in their messages: absolute (``/tmp/x/a.shp``, ``C:\\x``), or behind a GDAL
# virtual prefix (``/vsizip/units.zip``). Not a slash inside a word ("lon/lat", "km/h").
_PATH = re.compile(r"(?<![\w.])(?:/vsi\w+/)?(?:[A-Za-z]:)?[/\\][^\s'\"<>|;,()\[\]]+")
_GDAL_HINT = re.compile(r";? ?It might help to specify the correct driver.*$", re.DOTALL)
_MAX_LIBRARY_TEXT = 300  # characters of a library's message kept: enough for what it found, never a whole file


def plain_text(exc: BaseException) -> str:
    """A library's message about a file, fit for a planner: no server path (each cut to its file name), short.

    Parameters
    ----------
    exc
        The exception a reader (GDAL, XML, openpyxl, PROJ) raised.

    Returns
    -------
    str
        Its text on one line, with every path replaced by its last part and GDAL's driver hint dropped.

    Examples
    --------
    >>> plain_text(ValueError("'/tmp/tmpab/a.shp' not recognized as being in a supported file format."))
    "'a.shp' not recognized as being in a supported file format."
    >>> plain_text(ValueError("'/vsizip//srv/uploads/3f9a.zip' x; It might help to specify the correct driver"))
    "'3f9a.zip' x"
    >>> plain_text(ValueError("lon/lat out of range"))
    'lon/lat out of range'
    """
    text = _GDAL_HINT.sub("", " ".join(str(exc).split()))
    text = _PATH.sub(lambda m: re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-1], text)
    text = text or type(exc).__name__
    return text if len(text) <= _MAX_LIBRARY_TEXT else text[: _MAX_LIBRARY_TEXT - 1] + "…"


@contextmanager
def reading(path: str | Path, what: str, *, fix: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Read a file with a library: what it raises in ``errors`` becomes one ``InputError``, said once.

    An ``InputError`` raised inside passes through as it is (never wrapped a second time);
    the library's message is kept without server paths (``plain_text``).

    Parameters
    ----------
    path
        The file read (its name is what the message names).
    what
        What it holds, as in "cannot read the {what}" ("street network", "facilities spreadsheet").
    fix
        How to mend it: a key of the catalogue's ``fixes`` (said in the planner's language), or English words.
    errors
        The exceptions the library raises for a bad file.

    Raises
    ------
    InputError
        For any of ``errors``.

    Examples
    --------
    >>> with reading("roads.graphml", "street network", fix="export it again", errors=(SyntaxError,)):
    ...     raise SyntaxError("no element found: line 1, column 0")
    Traceback (most recent call last):
    ...
    geo.errors.InputError: roads.graphml: cannot read the street network (no element found: line 1, column 0). \
Fix: export it again
    """
    try:
        yield
    except InputError:
        raise
    except errors as exc:
        raise InputError("cannot_read", file=Path(path).name, fix=fix, what=what, detail=plain_text(exc)) from exc
