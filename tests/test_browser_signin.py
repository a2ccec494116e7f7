"""With accounts, in a real browser (Debian chromium): sign in, add a centre, reload, and the planner is still
signed in with the same scenario and figures; an expired, signed-out or disabled sign-in is not taken again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from quarterhour.workspace import Store
from quarterhour.workspace.accounts import Accounts
from tests.test_browser import CHROMIUM, _serve, add_centre, biggest_gap, resumed_scenario

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"),
]

PASSWORD = "西南区-planner-2026"


def _form(page):
    """The sign-in form's password field, once the page shows one form (a rerun may briefly show two)."""
    from playwright.sync_api import expect

    field = page.get_by_label("密码")
    expect(field).to_have_count(1, timeout=60_000)
    return field


def _sign_in(page, name: str, password: str) -> None:
    _form(page)
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_text(f"已登录：{name}", exact=False).first.wait_for(timeout=60_000)


def _cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "quarterhour_session"), None)


def _cookie_cleared(context, seconds: float = 30) -> bool:
    """Whether the page's script removes the sign-in cookie (it runs after the message is drawn)."""
    deadline = time.monotonic() + seconds
    while _cookie(context) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    return _cookie(context) is None


def test_a_signed_in_planner_stays_signed_in_across_a_reload(browser, tmp_path, sample):
    pytest.importorskip("playwright.sync_api")
    gap = biggest_gap(sample)
    database = tmp_path / "workspace.sqlite"
    store = Store(f"sqlite:///{database}")
    accounts = Accounts(store)
    accounts.add("wang", PASSWORD, role="planner", units=("MC-D3",))
    shots = Path(os.environ.get("QUARTERHOUR_SHOT_DIR", tmp_path))
    errors = []
    server = _serve(database)
    url = next(server)
    try:
        context = browser.new_context(viewport={"width": 1600, "height": 1300})
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="domcontentloaded")
        _sign_in(page, "wang", PASSWORD)
        before = add_centre(page, gap)
        kept = _cookie(context)
        page.reload(wait_until="domcontentloaded")  # a new session: no password asked
        page.get_by_text("已登录：wang（规划人员）").first.wait_for(timeout=60_000)
        after = resumed_scenario(page, shots, "signin")
        asked_again = page.get_by_label("密码").count()

        with store.engine.begin() as c:  # the session expires on the server
            c.execute(sa.text("UPDATE sessions SET expires_at = '2020-01-01 00:00:00+00:00'"))
        page.reload(wait_until="domcontentloaded")
        page.get_by_text("登录已过期或账号已停用", exact=False).first.wait_for(timeout=60_000)
        expired_cleared = _cookie_cleared(context)

        _sign_in(page, "wang", PASSWORD)  # again, then sign out: the next page asks for the password
        page.get_by_role("button", name="退出登录").click()
        _form(page)
        page.reload(wait_until="domcontentloaded")
        _form(page)
        page.get_by_text("已登录：wang", exact=False).first.wait_for(state="detached", timeout=30_000)
        signed_out_asks = page.get_by_text("已登录：wang", exact=False).count() == 0

        _sign_in(page, "wang", PASSWORD)  # and a disabled account's cookie is refused
        accounts.disable("wang")
        page.reload(wait_until="domcontentloaded")
        page.get_by_text("登录已过期或账号已停用", exact=False).first.wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "signin_disabled_after_reload.png"), full_page=True)
        context.close()
    finally:
        server.close()
        store.engine.dispose()
    assert errors == []
    assert after == before and not before.startswith("新增覆盖 0 人"), (before, after)
    assert asked_again == 0
    assert kept is not None and kept["sameSite"] == "Strict" and PASSWORD not in kept["value"]
    assert 7.9 * 3600 < kept["expires"] - time.time() <= 8 * 3600
    assert expired_cleared and signed_out_asks
