"""Logging in, in both languages, in real Chromium."""

from __future__ import annotations

from tests.conftest import PASSWORD


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang") or ""


def switch_language(page, code: str) -> None:
    with page.expect_navigation():
        page.locator(f'form[action="/i18n/setlang/"] button[name="language"][value="{code}"]').first.click()


def test_login_in_chinese_then_english_and_back(page, server, commander, shot):
    page.goto(f"{server}/login/")

    # Chinese is the default language.
    assert html_lang(page) == "zh-hans"
    assert "登录" in page.locator("h1").inner_text()
    shot(page, "login-zh")

    switch_language(page, "en")
    assert html_lang(page) == "en"
    assert page.locator("h1").inner_text().strip() == "Log in"
    assert page.url.rstrip("/").endswith("/login")
    shot(page, "login-en")

    page.fill('input[name="username"]', commander.username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('form[action="/login/"] button[type="submit"]')
    assert page.url == f"{server}/"
    assert html_lang(page) == "en"
    assert page.locator("h1").inner_text().strip() == "Overview"
    assert page.get_by_role("button", name="Log out").is_visible()
    shot(page, "home-en")

    # The switcher in the top bar brings Chinese back and keeps the page.
    switch_language(page, "zh-hans")
    assert page.url == f"{server}/"
    assert html_lang(page) == "zh-hans"
    # Whatever the translation's wording, the English labels are gone.
    assert page.get_by_role("button", name="Log out").count() == 0
    assert page.locator("h1").inner_text().strip() != "Overview"
    shot(page, "home-zh")

    # Every page came whole: style sheet, scripts, no error response.
    assert page.failed_requests == []
    assert page.evaluate("document.styleSheets.length") >= 1
    assert page.evaluate("[...document.styleSheets].every(s => s.cssRules.length > 0)")


def test_wrong_password_is_refused(page, server, commander, shot):
    page.goto(f"{server}/login/")
    switch_language(page, "en")
    page.fill('input[name="username"]', commander.username)
    page.fill('input[name="password"]', "not-the-password")
    with page.expect_navigation():
        page.click('form[action="/login/"] button[type="submit"]')
    assert page.url.rstrip("/").endswith("/login")
    assert page.locator('input[name="password"]').is_visible()
    assert page.get_by_role("button", name="Log out").count() == 0
    shot(page, "login-refused-en")
