"""Opening hours: what a facility list says about when a centre is open, read into one week.

Two syntaxes are read. OpenStreetMap's ``opening_hours`` ("Mo-Fr 08:30-17:30; Sa 09:00-12:00",
"24/7") goes to the ``opening-hours-py`` parser, a maintained implementation of the OSM
specification, evaluated over one ordinary week (3–9 March 2025, holding no public holiday).
The forms Chinese facility lists use
("8:30-20:30", "9:00-21:00（周一闭馆）", "周一至周五 上午8:30-12:00 下午14:30-17:30", "24小时",
"全天") are read by a table-driven scanner here: each token kind is a regular expression in
``_TOKENS``, and the tokens are paired in order (days, then the times that follow them; a
"closed" word takes the days before it). Notes in brackets that are not hours ("（搬迁中）") are kept
as a note. What neither reads is *unknown*: neither open nor closed.

A week is a tuple of ``(start, end)`` minutes from Monday 00:00 (``0 <= start < end <= 10080``).
Public holidays are not in the week (no calendar is assumed): what a text says about
节假日 / PH is kept in the note.

Examples
--------
>>> h = parse_hours("9:00-21:00（周一闭馆）")
>>> h.known, h.is_open(minute_of_week(2, 19, 0)), h.is_open(minute_of_week(0, 19, 0))
(True, True, False)
>>> parse_hours("Mo-Fr 08:30-17:30; Sa 09:00-12:00").is_open(minute_of_week(5, 10, 0))
True
>>> parse_hours("请电话预约").known
False
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo.errors import InputError
from geo.notes import Note, note
from geo.vocab import CATEGORIES as CATEGORY_CODES

if TYPE_CHECKING:  # issue 32: numpy and pandas imported where used, so the parsers (``--at``, ``--when``) load light
    import numpy as np
    import pandas as pd

__all__ = [
    "ALWAYS",
    "WEEK_MIN",
    "WINDOWS",
    "WeekHours",
    "at_label",
    "category_hours",
    "hours_notes",
    "minute_of_week",
    "parse_at",
    "parse_hours",
    "typical_hours",
    "window_hours",
]

#: Minutes in a week.
WEEK_MIN = 7 * 24 * 60
_DAY = 24 * 60
#: A Monday of an ordinary week (no public holiday is assumed anywhere) the OSM rules are evaluated over.
_MONDAY = dt.datetime(2025, 3, 3)


@dataclass(frozen=True)
class WeekHours:
    """A facility's opening hours over one week.

    Attributes
    ----------
    text
        The text as the file gave it.
    intervals
        Open spans in minutes from Monday 00:00, sorted, not overlapping; empty when closed all week.
    known
        False when the text could not be read: the hours are unknown (neither open nor closed).
    note
        What the text said that is not in ``intervals`` (a bracket note, a holiday rule), or why it is unknown.
    """

    text: str
    intervals: tuple[tuple[int, int], ...] = ()
    known: bool = True
    note: str = ""

    def is_open(self, minute: int) -> bool | None:
        """Open at ``minute`` of the week (from Monday 00:00); None when the hours are unknown."""
        if not self.known:
            return None
        m = int(minute) % WEEK_MIN
        return any(a <= m < b for a, b in self.intervals)

    def hourly(self) -> np.ndarray:
        """Open at the start of each of the week's 168 hours: 1.0 open, 0.0 closed, NaN unknown."""
        import numpy as np

        if not self.known:
            return np.full(168, np.nan)
        return np.array([1.0 if self.is_open(h * 60) else 0.0 for h in range(168)])

    @property
    def open_minutes(self) -> int:
        """Minutes open in the week (0 when unknown)."""
        return sum(b - a for a, b in self.intervals) if self.known else 0


#: Open all week.
ALWAYS = WeekHours("24/7", ((0, WEEK_MIN),))


def minute_of_week(day: int, hour: int, minute: int = 0) -> int:
    """Minutes from Monday 00:00 to ``day`` (0 Monday … 6 Sunday) at ``hour``:``minute``.

    >>> minute_of_week(2, 19)
    4020
    """
    return day * _DAY + hour * 60 + minute


# --- the Chinese forms ---------------------------------------------------------------------------

_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": None}
_WEEKDAY |= {str(i + 1): i for i in range(7)}
_DASH = r"\s*(?:-|－|—|–|―|~|～|〜|至|到|—{2})\s*"
_PERIOD = r"(?:上午|早上|早晨|凌晨|中午|下午|晚上|晚间|傍晚|夜间)"
_CLOCK = r"(\d{1,2})\s*(?:[:：.．]\s*(\d{2})|点\s*(?:(\d{1,2})分?|半)?|时)"
_DAYWORD = r"(?:周|星期|礼拜)"
_DAYS_ALL = tuple(range(7))

#: Token kinds, tried in this order at each place of the text: (kind, pattern).
_TOKENS: tuple[tuple[str, str], ...] = (
    ("note", r"[（(\[【]([^）)\]】]*)[）)\]】]"),
    ("always", r"24\s*(?:小时|h|H|时)(?:营业|开放|服务)?|全天候?|全日|昼夜|7\s*[×xX*]\s*24(?:小时)?"),
    ("range", rf"({_PERIOD})?\s*{_CLOCK}{_DASH}(次日|第二天)?\s*({_PERIOD})?\s*{_CLOCK}"),
    ("dayrange", rf"{_DAYWORD}([一二三四五六日天1-7]){_DASH}{_DAYWORD}?([一二三四五六日天1-7])"),
    ("daylist", rf"{_DAYWORD}([一二三四五六日天1-7](?:\s*[、,，和及]\s*(?:{_DAYWORD})?[一二三四五六日天1-7])*)"),
    ("workday", r"工作日|周一至五|周一到五"),
    ("weekend", r"周末|双休日|公休日"),
    ("everyday", r"每天|每日|天天|全周|全年无休|一周七天|周一至周日|全年"),
    ("holiday", r"法定节假日|节假日|节日|假日|寒暑假"),
    ("closed", r"闭馆|休馆|闭店|休息|不开放|关闭|停业|暂停开放|暂停服务|不营业|休"),
    ("sep", r"[;；,，、\n/|]+"),
    ("filler", r"开放时间|营业时间|服务时间|办公时间|开放|营业|服务|办公|照常|正常|时间|为|：|:|\s+|及|和|\.|。"),
)
_COMPILED = tuple((kind, re.compile(p)) for kind, p in _TOKENS)


_CLOCK_RX = re.compile(_CLOCK)


def _minutes(period: str | None, clock: re.Match) -> int:
    h, mm, mm2 = clock.groups()
    whole = clock.group(0)
    minute = int(mm) if mm else int(mm2) if mm2 else (30 if whole.endswith("半") else 0)
    hour = int(h)
    if period in ("下午", "晚上", "晚间", "傍晚", "夜间") and hour < 12:
        hour += 12
    if period == "中午" and hour < 11:
        hour += 12
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ValueError(f"{whole}: no such time")
    return hour * 60 + minute


def _range(m: re.Match) -> tuple[int, int]:
    """A time range's (start, end) minutes of the day; an end at or before the start runs past midnight."""
    p1, p2 = m.group(1), m.group(6)
    first, second = list(_CLOCK_RX.finditer(m.group(0)))[:2]
    start = _minutes(p1, first)
    end = _minutes(p2, second)
    if not p2 and p1 in ("下午", "晚上") and end + 12 * 60 > start and end < 12 * 60:
        end += 12 * 60  # "下午2:30-5:30": the second time is in the afternoon too
    return start, end


def _days(kind: str, m: re.Match) -> tuple[int, ...] | str:
    if kind == "dayrange":
        a, b = _WEEKDAY[m.group(1)], _WEEKDAY[m.group(2)]
        return tuple(range(a, b + 1)) if a <= b else (*range(a, 7), *range(b + 1))
    if kind == "daylist":
        return tuple(_WEEKDAY[c] for c in re.findall(r"[一二三四五六日天1-7]", m.group(1)))
    return {"workday": (0, 1, 2, 3, 4), "weekend": (5, 6), "everyday": _DAYS_ALL, "holiday": "holiday"}[kind]


def _tokens(text: str) -> list[tuple[str, object, str]]:
    """The text as (kind, value, matched text); raises ValueError at the first place no token fits."""
    out, i = [], 0
    while i < len(text):
        for kind, rx in _COMPILED:  # noqa: B007 -- the kind that matched is read after the loop
            m = rx.match(text, i)
            if m and m.end() > i:
                break
        else:
            raise ValueError(text[i:])
        raw = m.group(0)
        if kind == "range":
            out.append((kind, _range(m), raw))
        elif kind in ("dayrange", "daylist", "workday", "weekend", "everyday", "holiday"):
            out.append(("days", _days(kind, m), raw))
        elif kind == "note":
            out.append((kind, m.group(1).strip(), raw))
        else:
            out.append((kind, None, raw))
        i = m.end()
    return out


def _spans(day: int, ranges: list[tuple[int, int]]) -> set[int]:
    """The minutes of the week open on ``day`` in ``ranges`` (a range past midnight runs into the next day)."""
    out: set[int] = set()
    for a, b in ranges:
        start = day * _DAY + a
        end = day * _DAY + (b if b > a else b + _DAY)
        out.update(m % WEEK_MIN for m in range(start, end))
    return out


def _intervals(minutes: set[int]) -> tuple[tuple[int, int], ...]:
    if not minutes:
        return ()
    import numpy as np

    ms = np.sort(np.fromiter(minutes, dtype=int))
    breaks = np.flatnonzero(np.diff(ms) > 1)
    starts = np.r_[ms[0], ms[breaks + 1]]
    ends = np.r_[ms[breaks], ms[-1]] + 1
    return tuple(zip(starts.tolist(), ends.tolist(), strict=True))


def _unbracketed(text: str) -> tuple[list[tuple[str, object, str]], list[str]]:
    """The tokens, with a bracket's hours read in line and any other bracket kept as a note."""
    notes: list[str] = []
    toks: list[tuple[str, object, str]] = []
    for kind, value, raw in _tokens(text):
        if kind != "note":
            toks.append((kind, value, raw))
            continue
        try:
            inner = _tokens(str(value))
        except ValueError:
            inner = []
        if inner and any(k in ("range", "always", "closed") for k, _, _ in inner):
            toks += [("sep", None, ""), *inner, ("sep", None, "")]
        elif inner and all(k in ("days", "filler") for k, _, _ in inner):
            toks += inner  # "9:00-17:00（周一至周五）": the days of the times before
        elif value:
            notes.append(str(value))
    return toks, notes


class _Week:
    """The pairing of days and times, token by token."""

    def __init__(self) -> None:
        self.week: dict[int, set[int]] = {}  # day -> the minutes its rules open (spilling past midnight)
        self.closed: set[int] = set()
        self.notes: list[str] = []
        self.days: tuple[int, ...] | str | None = None  # the days of the group being read; "holiday"
        self.last_days: tuple[int, ...] | None = None
        self.ranges: list[tuple[int, int]] = []
        self.raw: list[str] = []
        self.after_sep = False

    def flush(self) -> None:
        if self.ranges:
            if self.days == "holiday":
                self.notes.append("".join(self.raw).strip())
            else:
                inherit = self.days is None
                target = self.days if not inherit else (self.last_days or _DAYS_ALL)
                for d in target:
                    span = _spans(d, self.ranges)
                    self.week[d] = self.week.get(d, set()) | span if inherit else span
                self.last_days = target
        elif self.days == "holiday":
            self.notes.append("".join(self.raw).strip())
        self.ranges, self.days, self.raw = [], None, []

    def take(self, kind: str, value: object, raw: str) -> None:
        if kind == "days":
            self._take_days(value, raw)  # what came after a separator still did
            return
        if kind == "filler":
            if self.days == "holiday" and raw.strip() not in ("", ":", "："):
                self.raw.append(raw)
            return
        if kind == "sep":
            self.flush()
            self.after_sep = True
            return
        if kind in ("range", "always"):
            self.ranges.append(value if kind == "range" else (0, _DAY))
            self.raw.append(raw)
        elif kind == "closed":
            self._take_closed(raw)
        self.after_sep = False

    def _take_days(self, value: object, raw: str) -> None:
        if self.ranges and self.days is None and not self.after_sep and value != "holiday":
            self.days = value  # "9:00-17:00 周一至周五": the times before the days are theirs
            self.flush()
            return
        if self.ranges:
            self.flush()
        if value == "holiday" or self.days == "holiday":
            self.days = "holiday"
        else:
            self.days = tuple(sorted({*(self.days or ()), *value}))
        self.raw.append(raw)

    def _take_closed(self, raw: str) -> None:
        if self.days == "holiday":
            self.notes.append("".join(self.raw).strip() + raw)
        elif self.days is not None:
            self.closed.update(self.days)
        elif not self.week and not self.ranges:
            self.closed.update(_DAYS_ALL)  # "暂停开放": closed, no day named
            self.notes.append(raw)
        self.ranges, self.days, self.raw = [], None, []

    def hours(self, text: str) -> WeekHours:
        self.flush()
        minutes = set().union(*(span for d, span in self.week.items() if d not in self.closed))
        return WeekHours(text, _intervals(minutes), note="；".join(n for n in self.notes if n))


def _chinese(text: str) -> WeekHours:
    """Read the Chinese forms; ValueError when no hours, days or closing can be read."""
    toks, notes = _unbracketed(text)
    if not any(k in ("range", "always", "closed") for k, _, _ in toks):
        raise ValueError(text)
    week = _Week()
    week.notes += notes
    for tok in toks:
        week.take(*tok)
    return week.hours(text)


# --- OpenStreetMap's syntax ----------------------------------------------------------------------

_OSM_HINT = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH|SH|off|24/7)\b")


def _osm(text: str) -> WeekHours:
    """Read OSM ``opening_hours`` over one ordinary week; ValueError when the OSM parser refuses it."""
    from opening_hours import OpeningHours, ParserError  # the Rust parser loads only when hours are read

    try:
        oh = OpeningHours(text)
    except ParserError as err:
        raise ValueError(text) from err
    spans, unknown = [], False
    for start, end, state, _comments in oh.intervals(_MONDAY, _MONDAY + dt.timedelta(days=7)):
        name = str(state).rsplit(".", 1)[-1].lower()
        a = int((start - _MONDAY).total_seconds() // 60)
        b = int(((end or _MONDAY + dt.timedelta(days=7)) - _MONDAY).total_seconds() // 60)
        if name == "open":
            spans.append((a, min(b, WEEK_MIN)))
        elif name == "unknown":
            unknown = True
    if unknown and not spans:
        return WeekHours(text, known=False, note="unknown")
    note = "PH" if "PH" in text else ""
    return WeekHours(text, _intervals({m for a, b in spans for m in range(a, b)}), note=note)


def parse_hours(text: object) -> WeekHours:
    """Read a facility's opening hours, OSM syntax or the Chinese forms; unreadable text gives unknown hours.

    Parameters
    ----------
    text
        The cell as the file gives it ("8:30-20:30", "周一至周五 9:00-17:00", "Mo-Fr 08:00-18:00", "24小时").

    Returns
    -------
    WeekHours
        ``known`` False (and ``note`` the text) when it could not be read; never raises.

    Examples
    --------
    >>> parse_hours("8:30-20:30").intervals[0]
    (510, 1230)
    >>> parse_hours("24小时").open_minutes == WEEK_MIN
    True
    """
    raw = "" if text is None else str(text).strip()
    if not raw or raw.lower() in ("nan", "none"):
        return WeekHours(raw, known=False, note="")
    cjk = re.search(r"[\u3000-\u9fff\uff00-\uffef]", raw)
    tries = (_chinese,) if cjk else (_osm, _chinese) if _OSM_HINT.search(raw) else (_chinese, _osm)
    for read in tries:
        try:
            return read(raw)
        except ValueError:
            continue
    return WeekHours(raw, known=False, note=raw)


# --- times asked: "周三 19:00", "Sa 10:00", and named windows ---------------------------------------

_AT_DAYS = {
    **{f"{w}{c}": i for w in ("周", "星期", "礼拜") for c, i in _WEEKDAY.items() if i is not None},
    **{d: i for i, d in enumerate(("mo", "tu", "we", "th", "fr", "sa", "su"))},
    **{d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}
_DAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_DAY_EN = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

#: Named windows of the week: name -> (days, first hour, hour after the last). Each hour counts at its start.
WINDOWS: dict[str, tuple[tuple[int, ...], int, int]] = {
    "weekday-evening": ((0, 1, 2, 3, 4), 18, 21),
    "weekday-daytime": ((0, 1, 2, 3, 4), 8, 18),
    "office-hours": ((0, 1, 2, 3, 4), 9, 17),
    "weekend": ((5, 6), 9, 18),
    "weekend-evening": ((5, 6), 18, 21),
    "night": (tuple(range(7)), 0, 6),
}


def parse_at(text: str) -> int:
    """The minute of the week a planner asks about: "周三 19:00", "星期六 10:30", "Sa 10:00", "Wed 7:00".

    Raises
    ------
    ValueError
        With what was expected, when the day or the time cannot be read.

    Examples
    --------
    >>> parse_at("周三 19:00") == minute_of_week(2, 19) == parse_at("We 19:00")
    True
    """
    m = re.fullmatch(r"\s*([^\s\d]+)\s*(\d{1,2})\s*[:：点]\s*(\d{2})?\s*", str(text))
    day = _AT_DAYS.get(m.group(1).lower()) if m else None
    if m is None or day is None:
        raise ValueError(f"'{text}' is not a day and a time")
    hour, minute = int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"'{text}': no such time")
    return minute_of_week(day, hour, minute)


def at_label(minute: int, lang: str = "zh") -> str:
    """A minute of the week as the planner writes it: "周三 19:00" / "We 19:00".

    >>> at_label(parse_at("Sa 10:00")), at_label(4020, "en")
    ('周六 10:00', 'We 19:00')
    """
    day, rest = divmod(int(minute) % WEEK_MIN, _DAY)
    names = _DAY_EN if lang == "en" else _DAY_ZH
    return f"{names[day]} {rest // 60:02d}:{rest % 60:02d}"


def window_hours(name: str) -> tuple[int, ...]:
    """The hours of the week (0 = Monday 00:00) of a named window (``WINDOWS``); KeyError for an unknown name.

    >>> window_hours("weekday-evening")[:3]
    (18, 19, 20)
    """
    days, first, stop = WINDOWS[name]
    return tuple(d * 24 + h for d in days for h in range(first, stop))


# --- reading a file's hours ----------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in ("", "nan")


def hours_notes(table: pd.DataFrame, file: str, *, first_row: int) -> list[Note]:
    """What a facility list's ``hours`` column gave: rows whose hours could not be read, by name and row; blanks.

    Parameters
    ----------
    table
        The facilities, with ``hours`` (and ``name``), in file order.
    file
        The file's name, for the notes.
    first_row
        The row number the file gives its first facility (2 under a spreadsheet's header).
    """
    import pandas as pd

    names = table["name"] if "name" in table else pd.Series(range(len(table)), index=table.index)
    unread, blank = [], 0
    for i, (value, name) in enumerate(zip(table["hours"], names, strict=True)):
        if _blank(value):
            blank += 1
        elif not parse_hours(value).known:
            unread.append(f"{name} ({i + first_row}: {value})")
    notes = []
    if unread:
        shown = unread[:10] + (["…"] if len(unread) > 10 else [])
        notes.append(note("hours_unreadable", file=file, n=len(unread), rows=shown))
    if blank:
        notes.append(note("hours_blank", file=file, n=blank))
    return notes


def category_hours(table: pd.DataFrame, path: object) -> pd.Series:
    """The ``hours`` column of a categories table, by category code (None where not given); each must be readable.

    Raises
    ------
    InputError
        Naming the row, when a category's hours cannot be read.
    """
    import pandas as pd

    out = pd.Series(None, index=pd.Index(CATEGORY_CODES, name="category"), dtype=object)
    if "hours" not in table.columns:
        return out
    for i, (code, value) in enumerate(zip(table["category"], table["hours"], strict=True)):
        if _blank(value):
            continue
        if not parse_hours(value).known:
            raise InputError(
                "hours_hours_value_cannot_read",
                file=getattr(path, "name", str(path)),
                row=i + 2,
                column="hours",
                value=value,
            )
        out[code] = str(value).strip()
    return out


def typical_hours(facilities: pd.DataFrame, category: str, given: Mapping[str, str] | None = None) -> str | None:
    """The hours a new centre of ``category`` keeps: the category's given hours, else the commonest of its list.

    None when the list gives no readable hours for the category (the centre then counts as always open, as
    every facility does in a list without hours).

    >>> import pandas as pd
    >>> fac = pd.DataFrame({"category": ["study_room"] * 3, "hours": ["8:30-20:30", "8:30-20:30", "24小时"]})
    >>> typical_hours(fac, "study_room"), typical_hours(fac, "study_room", {"study_room": "9:00-21:00"})
    ('8:30-20:30', '9:00-21:00')
    """
    import pandas as pd

    if given and isinstance(given.get(category), str) and given[category].strip():
        return given[category].strip()
    if "hours" not in facilities:
        return None
    own = facilities.loc[facilities["category"] == category, "hours"]
    readable = [str(h).strip() for h in own if not _blank(h) and parse_hours(h).known]
    return pd.Series(readable).mode().iloc[0] if readable else None
