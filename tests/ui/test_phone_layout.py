"""Issue 26, item 15: on a phone the sidebar closes after navigation (also where the browser does not
say it is a phone) and the record form keeps the CSV's column order."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .pages import PHONE, pick, settled


def test_the_sidebar_closes_after_navigating_on_a_phone(open_page):
    page: Page = open_page(PHONE)
    page.goto("/")
    expect(page.get_by_role("heading", name="1 · Data")).to_be_visible()
    settled(page)
    page.get_by_test_id("stExpandSidebarButton").click()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "true")


def test_the_record_form_keeps_the_csv_order_on_a_phone(open_page, form_model):
    page: Page = open_page(PHONE)
    page.goto("/predict")
    pick(page, "Model", form_model)
    expect(page.get_by_text("trained on ui-form-data")).to_be_visible()
    expect(page.get_by_label("age", exact=True)).to_have_count(1)  # the previous model's form is gone
    tops = [page.get_by_label(name, exact=True).bounding_box()["y"] for name in ("age", "weight", "hours", "job")]
    assert tops == sorted(tops), dict(zip(("age", "weight", "hours", "job"), tops))
