"""Issue 26 in a real browser: the Chinese page's file uploaders speak Chinese (Streamlit's own words replaced)."""

from __future__ import annotations

import pytest

from tests.test_browser import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"),
]

_SHOWN = """e => {
  const after = getComputedStyle(e, '::after').content;
  return {own: getComputedStyle(e).fontSize, after: after === 'none' ? '' : JSON.parse(after)};
}"""


def test_the_uploaders_words_are_the_planners_language(browser, app_url):
    pytest.importorskip("playwright.sync_api")
    errors = []
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_text("38,245 / 38,367").first.wait_for(timeout=90_000)
    page.get_by_text("数据", exact=True).click()
    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    zone.wait_for(timeout=30_000)
    button = zone.locator('button [data-testid="stMarkdownContainer"] p').evaluate(_SHOWN)
    limit = zone.locator('[data-testid="stFileUploaderDropzoneInstructions"] > div > span').last.evaluate(_SHOWN)
    assert button == {"own": "0px", "after": "上传"}  # Streamlit's "Upload" hidden, ours shown
    assert limit == {"own": "0px", "after": "每个文件不超过 100 MB"}  # not "100MB per file"
    page.get_by_text("English", exact=True).click()
    page.get_by_text("residents within a 15-minute walk").wait_for(timeout=90_000)
    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    assert zone.locator("button p").evaluate(_SHOWN)["after"] == "Upload"
    page.close()
    assert errors == []
