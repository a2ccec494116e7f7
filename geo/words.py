"""The catalogue of the planner's messages: every note and every error, in Chinese and in English.

The words live in data, one TOML file per language (``geo/locale/zh.toml``, ``geo/locale/en.toml``), read
with the standard library's ``tomllib``; the code names a message by its key and gives its values. A third
language is one more file with the same keys. ``tools/i18n_migrate.py`` moves words still written in Python
(``quarterhour.i18n._TEXT``'s ``note_*``/``err_*`` keys, ``geo.notes.NOTES_EN``) into these files.

Sections of a catalogue:

``notes``
    A note of the analysis (``geo.notes.Note``), by key.
``errors``
    An error (``geo.errors.InputError``), by key: its ``problem`` and ``fix`` (framed with the file, row and
    column as ``frame`` says), or one whole ``message``.
``frame``
    How an error names where it is and how to mend it.
``words``
    (Chinese only) English words a value may carry (``what="facilities"``), said in Chinese.
"""

from __future__ import annotations

import re
import string
import tomllib
from functools import cache
from pathlib import Path

__all__ = ["LANGS", "catalogue", "error_entry", "lang_of", "placeholders", "quoted", "render", "say_value"]

#: The languages a message can be said in; the first is the planner's.
LANGS = ("zh", "en")
_HERE = Path(__file__).with_name("locale")


@cache
def catalogue(lang: str) -> dict:
    """The catalogue of ``lang`` (``zh`` or ``en``), read once.

    Examples
    --------
    >>> catalogue("en")["notes"]["facilities_read"]
    '{file}: {n} facilities'
    """
    with (_HERE / f"{lang_of(lang)}.toml").open("rb") as f:
        return tomllib.load(f)


def lang_of(lang: object) -> str:
    """``en`` for English (``en``, ``en_GB.UTF-8``), else the planner's ``zh``.

    Examples
    --------
    >>> lang_of("en_US.UTF-8"), lang_of("zh_CN"), lang_of(None)
    ('en', 'zh', 'zh')
    """
    return "en" if str(lang or "").strip().lower().startswith("en") else "zh"


def error_entry(key: str, lang: str = "en") -> dict | None:
    """The error ``key``'s words in ``lang``, or None if the catalogue has no such error."""
    entry = catalogue(lang)["errors"].get(key)
    return entry if isinstance(entry, dict) else None


def placeholders(template: str) -> set[str]:
    """The names a template fills (``{n:,}`` -> ``n``).

    Examples
    --------
    >>> sorted(placeholders("{file}: {n:,} rows, {pop:,.0f} residents ({x!r})"))
    ['file', 'n', 'pop', 'x']
    """
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def say_value(value: object, lang: str) -> object:
    """A value as ``lang`` says it: a note in its words, a list joined, an English word of ``words`` in Chinese."""
    from geo.notes import Note, note_in

    if isinstance(value, Note):
        return note_in(value, lang)
    if isinstance(value, (tuple, list)):
        return catalogue(lang)["frame"]["list_sep"].join(str(say_value(v, lang)) for v in value)
    if isinstance(value, str) and lang == "zh":
        return catalogue("zh").get("words", {}).get(value, value)
    return value


def quoted(template: str) -> frozenset[str]:
    """The fields ``template`` quotes (“{value}”, '{name}'): the planner's own text, shown as written.

    Examples
    --------
    >>> sorted(quoted("列“{column}”：“{value}”不是数字（{what}）"))
    ['column', 'value']
    """
    return frozenset(re.findall(r"[“‘'\"]\{(\w+)\}[”’'\"]", template))


def render(template: str, values: dict, lang: str) -> str:
    """``template`` filled with ``values`` said in ``lang``; a quoted field as given (a cell 'demand' stays so)."""
    kept = quoted(template)
    return template.format(**{k: v if k in kept else say_value(v, lang) for k, v in values.items()})


_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def is_key(text: object) -> bool:
    """Whether ``text`` names an error of the catalogue (not a sentence of an old-style ``InputError``)."""
    return isinstance(text, str) and bool(_KEY.match(text)) and error_entry(text) is not None
