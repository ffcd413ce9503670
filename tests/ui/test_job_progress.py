"""Issue 26, item 13: a running job shows its step and the time since it started; a finished one reads
as a sentence ("succeeded after 42 s", not "is succeeded"); the upload date is written out whole."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .pages import DESKTOP, PHONE, pick, settled

TRAINING = 300_000  # ms: a hyper-parameter search on a loaded CI machine


def test_training_progress_names_its_step_and_elapsed_time_and_ends_in_a_sentence(open_page, form_model):
    page: Page = open_page()
    page.goto("/train")
    pick(page, "Data set", "ui-form-data ·")
    pick(page, "Model", "New model…")
    page.get_by_label("New model name").fill("ui-progress-model")
    page.get_by_text("Search hyper-parameters (slower, often better)").click()  # the box itself is drawn over
    settled(page)
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text(re.compile(r"(Step [1-5] of 5: [a-z]+|Waiting for a worker) · \d+ s elapsed"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Training job \w+ succeeded after \d+"))).to_be_visible(timeout=TRAINING)
    assert "is succeeded" not in page.inner_text("body")


def test_the_upload_date_is_written_out_whole_on_desktop_and_phone(open_page, form_model):
    for viewport in (DESKTOP, PHONE):
        page: Page = open_page(viewport)
        page.goto("/")
        # Its own data set: the default one is the session's newest upload, whichever test made it.
        pick(page, "Look at", "ui-form-data")
        expect(page.get_by_text(re.compile(r"^Uploaded \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$"))).to_be_visible()
        cut = page.get_by_test_id("stMetricValue").evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)")
        assert cut == [], f"cut short at {viewport}: {cut}"
