"""Notes for the planner as data: a key and its values, put into words by the faces.

The analysis does not know the planner's language. It says what it did or left
out as a ``Note``; its words, in Chinese and English, are the ``[notes]`` of the
catalogue (``geo/locale/*.toml``, read by ``geo.words``). ``str(note)`` is the
English text (the CLI's ``note:`` lines and the logs), ``note_in`` (and
``quarterhour.i18n.note_text``) says it in the planner's language.
A face may still meet a plain ``str`` note (e.g. a solver's own message): it is
shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.words import catalogue, lang_of, quoted

__all__ = ["NOTES_EN", "Note", "fill", "note", "note_in", "note_template"]

#: Notes still written here in English (the catalogue's ``[notes]`` hold the rest): ``tools/i18n_migrate.py``
#: moves an entry, with its Chinese from ``quarterhour.i18n``, into ``geo/locale/*.toml``.
NOTES_EN: dict[str, str] = {
    # siting (analysis/siting.py, analysis/siting_models.py)
    # --- issue 31: i31-hours ---
    # --- issue 27: i27-bounds ---
    # --- issue 30: i30-compounds ---
    # --- issue 30: i30-grid ---
    # --- issue 30: i30-roads ---
}


@dataclass(frozen=True)
class Note:
    """One thing the planner should know: ``key`` (of ``NOTES_EN``) and its ``values`` as (name, value) pairs.

    Values are numbers, strings, tuples of strings (lists of names) or other ``Note`` objects
    (a part of the sentence that is itself said in the planner's language).

    Examples
    --------
    >>> str(note("facilities_read", file="centres.csv", n=2))
    'centres.csv: 2 facilities'
    """

    key: str
    values: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        """The note in English."""
        return note_in(self, "en")


def note_template(key: str, lang: str = "en") -> str | None:
    """The words of note ``key`` in ``lang``: the catalogue's, else (English) ``NOTES_EN``'s; None if neither."""
    template = catalogue(lang)["notes"].get(key)
    return template if template is not None or lang != "en" else NOTES_EN.get(key)


def note_in(n: Note, lang: str, say=None) -> str:
    """Note ``n`` in ``lang`` (``zh`` or ``en``); ``say`` says a note inside it (by default, this function).

    Examples
    --------
    >>> note_in(note("facilities_read", file="centres.csv", n=2), "zh")
    'centres.csv：2 个服务设施'
    """
    lang = lang_of(lang)
    template = note_template(n.key, lang) or note_template(n.key, "en")
    say = say or (lambda inner: note_in(inner, lang))
    words = catalogue(lang).get("words", {})  # a bit of English a value carries (", …"), said in the language
    kept = quoted(template)  # a quoted field is the planner's own text, shown as written
    n = Note(n.key, tuple((k, words.get(v, v) if isinstance(v, str) and k not in kept else v) for k, v in n.values))
    return fill(template, n, say, catalogue(lang)["frame"]["list_sep"])


def note(key: str, **values: object) -> Note:
    """A ``Note`` of ``key`` with ``values`` (lists become tuples, so the note stays hashable)."""
    if note_template(key) is None:
        raise KeyError(f"no note '{key}' in the catalogue (geo/locale/en.toml) or geo.notes.NOTES_EN")
    return Note(key, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


def fill(template: str, n: Note, say, sep: str) -> str:
    """``template`` with the values of ``n``: nested notes said by ``say``, tuples joined by ``sep``."""
    values = {
        k: say(v) if isinstance(v, Note) else sep.join(map(str, v)) if isinstance(v, tuple) else v for k, v in n.values
    }
    return template.format(**values)
