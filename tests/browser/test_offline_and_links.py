"""What a first visit meets before any upload: deep links, requests leaving the machine, a phone's sidebar."""
from __future__ import annotations

from urllib.parse import urlparse

from streamlit_page import HEADINGS, RESULT_TIMEOUT_MS, go_to, open_app, wait_idle

from ui.navigation import CLASSIFY_ALIAS_URL, DEFAULT_SCREEN, SCREENS, address

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test of this folder then.
    expect = None

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Every path a person can type: the root, every screen's, and /classify, the name the default page goes by.
PATHS_AND_TITLES = [(CLASSIFY_ALIAS_URL, HEADINGS[DEFAULT_SCREEN.title]),
                    *[(address(screen), HEADINGS[screen.title]) for screen in SCREENS]]


def is_local(url: str) -> bool:
    """True for the app's own requests and for data:/blob: URLs, which never leave the browser."""
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS


def test_every_page_loads_from_this_machine_alone_and_every_link_works(page, server):
    """No request leaves 127.0.0.1 (fonts, favicons, icons), and /classify is no "Page not found"."""
    outside: list[str] = []

    def only_local(route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_local)
    for path, title in PATHS_AND_TITLES:
        open_app(page, server, path)
        wait_idle(page)
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(page.get_by_text("Page not found")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    assert outside == [], f"the app asked hosts outside this machine for: {sorted(set(outside))}"


def test_on_a_phone_the_sidebar_closes_after_choosing_a_page(browser, server):
    """Streamlit collapses the sidebar on navigation for a phone's browser (mobile user agent)."""
    context = browser.new_context(**PHONE)
    try:
        phone = context.new_page()
        open_app(phone, server)
        phone.get_by_test_id("stExpandSidebarButton").click()
        sidebar = phone.get_by_test_id("stSidebar")
        expect(sidebar).to_be_in_viewport()
        go_to(phone, "About")
        expect(phone.get_by_role("heading", name="About", exact=True)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(sidebar).not_to_be_in_viewport()
    finally:
        context.close()


# Playwright's "iPhone 13" descriptor, written out (the table is on the playwright object, not the browser).
PHONE = {
    "user_agent": ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1"),
    "viewport": {"width": 390, "height": 664}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
}
