"""Opening hours: the parser against real phrasings (Chinese lists and OSM), and the times a planner asks."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.hours import WEEK_MIN, at_label, parse_at, parse_hours, window_hours

# (the text as facility lists write it, read?, times open, times closed); times as a planner asks them.
PHRASINGS = [
    ("8:30-20:30", True, ["周三 08:30", "周日 20:29"], ["周三 08:29", "周三 20:30"]),
    ("8:30—20:30", True, ["周一 12:00"], ["周一 21:00"]),
    ("08:30～20:30", True, ["周六 09:00"], ["周六 07:00"]),
    ("9:00-21:00（周一闭馆）", True, ["周二 19:00", "周日 09:00"], ["周一 19:00"]),
    ("9:00-21:00(周一闭馆)", True, ["周三 20:59"], ["周一 10:00", "周三 21:00"]),
    ("上午8:30-12:00 下午14:30-17:30", True, ["周二 09:00", "周二 15:00"], ["周二 13:00", "周二 18:00"]),
    ("上午8:30-12:00，下午2:30-5:30", True, ["周二 16:00"], ["周二 13:00", "周二 05:00"]),
    ("周一至周五 8:30-17:30", True, ["周五 17:00"], ["周六 10:00", "周一 18:00"]),
    ("周一至周五：9:00-17:00", True, ["周一 09:00"], ["周日 10:00"]),
    ("星期一至星期五 9:00-17:00", True, ["周四 10:00"], ["周六 10:00"]),
    ("周二至周日 9:00-17:00", True, ["周日 10:00"], ["周一 10:00"]),
    ("周二到周日9:00-17:00，周一闭馆", True, ["周二 10:00"], ["周一 10:00"]),
    ("工作日 8:30-17:00", True, ["周三 16:00"], ["周六 16:00"]),
    ("工作日9:00-17:00，周末10:00-16:00", True, ["周六 15:00", "周一 16:30"], ["周六 16:30", "周日 09:30"]),
    ("周末 9:00-18:00", True, ["周日 17:00"], ["周五 17:00"]),
    ("周六、周日 9:00-12:00", True, ["周六 11:00", "周日 09:00"], ["周五 11:00", "周六 13:00"]),
    ("周一、三、五 14:00-17:00", True, ["周三 15:00"], ["周二 15:00"]),
    ("24小时", True, ["周一 00:00", "周日 23:59"], []),
    ("24小时开放", True, ["周三 03:00"], []),
    ("24h", True, ["周四 04:00"], []),
    ("全天", True, ["周六 02:00"], []),
    ("全天开放", True, ["周二 23:00"], []),
    ("7×24小时", True, ["周日 05:00"], []),
    ("8:30-17:30（搬迁中）", True, ["周一 09:00"], ["周一 18:00"]),
    ("周一至周五 8:30-12:00，14:30-17:30", True, ["周一 15:00", "周五 09:00"], ["周一 13:00", "周六 09:00"]),
    ("周一至周五 8:30-17:30 周六 9:00-12:00", True, ["周六 11:00", "周五 17:00"], ["周六 13:00", "周日 10:00"]),
    ("9:00-17:00（周一至周五）", True, ["周二 10:00"], ["周六 10:00"]),
    ("周二至周日 9:00-17:00，节假日照常开放", True, ["周日 16:00"], ["周一 10:00"]),
    ("周一至周五9:00-17:00，节假日休息", True, ["周五 16:00"], ["周六 10:00"]),
    ("每天 8:00-22:00", True, ["周日 21:00"], ["周日 22:00"]),
    ("每日8:30-21:00", True, ["周三 20:00"], ["周三 21:30"]),
    ("夏季时间 9:00-18:00", False, [], []),  # seasons are not read: unknown, not guessed
    ("22:00-次日6:00", True, ["周二 23:00", "周三 05:00"], ["周三 12:00"]),
    ("9点-17点", True, ["周一 16:00"], ["周一 17:00"]),
    ("上午9点半-12点", True, ["周二 09:30"], ["周二 09:00"]),
    ("开放时间：9:00-17:00", True, ["周一 09:00"], ["周一 17:00"]),
    ("暂停开放", True, [], ["周一 10:00", "周六 10:00"]),
    ("请电话预约", False, [], []),
    ("", False, [], []),
    ("Mo-Fr 08:30-17:30; Sa 09:00-12:00", True, ["周五 17:00", "Sa 11:00"], ["Sa 12:00", "Su 10:00"]),
    ("24/7", True, ["Su 03:00"], []),
    ("Mo-Su 09:00-21:00; Mo off", True, ["Tu 20:00"], ["Mo 10:00"]),
    ("Tu-Su 09:00-17:00; PH off", True, ["Su 16:00"], ["Mo 10:00"]),
    ("Mo-Fr 08:00-12:00,14:00-18:00", True, ["We 15:00"], ["We 13:00"]),
    ("Sa,Su 10:00-16:00", True, ["Su 15:00"], ["Fr 15:00"]),
    ("08:00-20:00", True, ["Th 19:00"], ["Th 20:00"]),
    ("Mo-Fr 18:00-02:00", True, ["Tu 01:00", "We 19:00"], ["Mo 01:00", "Su 01:00"]),
]


@pytest.mark.parametrize(("text", "known", "open_at", "closed_at"), PHRASINGS, ids=[p[0] or "blank" for p in PHRASINGS])
def test_phrasing(text: str, known: bool, open_at: list[str], closed_at: list[str]) -> None:
    hours = parse_hours(text)
    assert hours.known is known, hours
    for when in open_at:
        assert hours.is_open(parse_at(when)) is True, (text, when, hours.intervals)
    for when in closed_at:
        assert hours.is_open(parse_at(when)) is False, (text, when, hours.intervals)
    if not known:
        assert hours.is_open(0) is None and hours.open_minutes == 0  # neither open nor closed


def test_at_least_forty_phrasings() -> None:
    assert len(PHRASINGS) >= 40
    assert sum(bool(p[0]) and p[0].isascii() for p in PHRASINGS) >= 8  # OSM ones and bare ranges


def test_notes_kept() -> None:
    assert parse_hours("8:30-17:30（搬迁中）").note == "搬迁中"
    assert "节假日休息" in parse_hours("周一至周五9:00-17:00，节假日休息").note
    assert parse_hours("请电话预约").note == "请电话预约"


def test_hourly_week_agrees_with_is_open() -> None:
    hours = parse_hours("9:00-21:00（周一闭馆）")
    week = hours.hourly()
    assert week.shape == (168,)
    assert week.sum() == 6 * 12  # six days of 9:00 to 20:00, each hour at its start
    assert all(bool(week[h]) == hours.is_open(h * 60) for h in range(168))
    assert parse_hours("24小时").open_minutes == WEEK_MIN


@pytest.mark.parametrize("text", ["周三 19:00", "星期三 19:00", "We 19:00", "wed 19:00", "周三19点"])
def test_at_forms(text: str) -> None:
    assert parse_at(text) == 2 * 1440 + 19 * 60
    assert at_label(parse_at(text)) == "周三 19:00"
    assert at_label(parse_at(text), "en") == "We 19:00"


@pytest.mark.parametrize("text", ["周八 19:00", "周三 25:00", "tomorrow", "19:00"])
def test_at_refused(text: str) -> None:
    with pytest.raises(ValueError, match=text.split()[0][:2]):
        parse_at(text)


def test_windows() -> None:
    assert len(window_hours("weekday-evening")) == 15
    assert all(h % 24 in (18, 19, 20) and h // 24 < 5 for h in window_hours("weekday-evening"))
    assert {h // 24 for h in window_hours("weekend")} == {5, 6}


def test_facility_list_hours_read_and_unreadable_rows_named(tmp_path) -> None:
    from geo.io import read_facilities

    path = tmp_path / "城市书房.csv"
    path.write_text(
        "名称,类别,经度,纬度,开放时间\n"
        "甲书房,城市书房,7.42,43.73,9:00-21:00（周一闭馆）\n"
        "乙书房,城市书房,7.421,43.731,请电话预约\n"
        "丙书房,城市书房,7.422,43.732,\n",
        encoding="utf-8",
    )
    gdf = read_facilities(path)
    assert list(gdf["hours"].fillna(""))[:2] == ["9:00-21:00（周一闭馆）", "请电话预约"]
    keys = {n.key: n for n in gdf.attrs["notes"]}
    assert "乙书房 (3: 请电话预约)" in str(keys["hours_unreadable"])
    assert "1 facilities give no opening hours" in str(keys["hours_blank"])


def test_category_hours_read_and_refused(tmp_path) -> None:
    from geo.errors import InputError
    from geo.io import read_categories

    good = tmp_path / "categories.csv"
    good.write_text("category,minutes,hours\n城市书房,15,9:00-21:00\n邻里中心,10,\n", encoding="utf-8")
    table = read_categories(good)
    assert table.loc["study_room", "hours"] == "9:00-21:00"
    assert pd.isna(table.loc["neighbourhood_centre", "hours"])
    bad = tmp_path / "bad.csv"
    bad.write_text("category,minutes,hours\n城市书房,15,看情况\n", encoding="utf-8")
    with pytest.raises(InputError, match="看情况"):
        read_categories(bad)
