"""Issue 26, item 16: a page load asks nothing of any host but the platform's own. Requests elsewhere
are recorded and stopped in the browser (they never leave the machine)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from .pages import settled

PAGES = {"/": "1 · Data", "/train": "2 · Train", "/predict": "3 · Predict", "/jobs": "Jobs", "/models": "Models", "/feedback": "Feedback"}


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_every_request_of_every_page_goes_to_the_platforms_own_origin(open_page, ui_url):
    page: Page = open_page()
    elsewhere = []

    def only_own(route):
        if origin(route.request.url) == origin(ui_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route(lambda url: not url.startswith(("data:", "blob:")), only_own)
    for path, heading in PAGES.items():
        page.goto(path)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        settled(page)
    page.wait_for_load_state("networkidle")
    assert elsewhere == []
