"""The app in headless chromium at a time of the week (issue 31): move the time control, the headline follows."""

from __future__ import annotations

import functools
import re

import pytest
from test_browser import CHROMIUM, _map_frame

from analysis.hours import facility_hours, week_coverage
from geo import load_sample, read_facilities, sample_paths

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"),
]

HOURS_CSV = sample_paths()["facilities"].with_name("facilities_hours.csv")


@functools.cache
def _week():
    """The week table of the hours file on the sample (computed apart from the app), once."""
    network, _, demand = load_sample()
    facilities = read_facilities(HOURS_CSV).to_crs(network.crs)
    return week_coverage(network, facilities, demand, facility_hours(facilities)[0])


def _pct_at(hour: int) -> float:
    """Coverage at an hour of the week, from the week table (computed apart from the app)."""
    week = _week()
    return 100 * week.pop[week.covered[hour]].sum() / week.pop.sum()


def test_moving_the_time_control_changes_the_headline(browser, app_url):
    pytest.importorskip("playwright.sync_api")
    errors = []
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    page.get_by_text("数据", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="服务设施")
    uploader.locator('input[type="file"]').set_input_files(str(HOURS_CSV))
    page.get_by_text("facilities_hours.csv").first.wait_for(timeout=60_000)
    thumb = page.locator('.st-key-hours_at input[type="range"]')  # the control's stable key (ui.state.HOURS_AT)
    thumb.focus()
    thumb.press("End")  # the last hour of the week: Sunday 23:00
    headline = page.get_by_text(re.compile(r"^周日 23:00 开放设施覆盖"))
    headline.wait_for(timeout=90_000)
    first = headline.text_content()
    assert f"{_pct_at(167):.1f}%" in first, first
    thumb.focus()
    for _ in range(4):  # back to Sunday 19:00: more facilities open than at 23:00
        thumb.press("ArrowLeft")
    later = page.get_by_text(re.compile(r"^周日 19:00 开放设施覆盖"))
    later.wait_for(timeout=90_000)
    second = later.text_content()
    assert f"{_pct_at(6 * 24 + 19):.1f}%" in second, second
    assert second != first
    assert _map_frame(page) is not None
    page.close()
    assert errors == []
