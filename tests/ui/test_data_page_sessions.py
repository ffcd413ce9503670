"""Issue 26, items 9 and 14: the profile follows the newest upload of a session, and a wide data set's
profile summarises (a few columns' charts and a search box) instead of drawing a chart per column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from playwright.sync_api import Page, expect

from .conftest import upload_frame
from .pages import chart_titled, charts, settled


def upload_in_browser(page: Page, path) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect(page.get_by_test_id("stFileUploader").get_by_text(path.name)).to_be_visible()
    page.get_by_role("button", name="Upload data set").click()
    expect(page.get_by_text(re.compile(f"Uploaded {path.stem}: "))).to_be_visible()


def test_the_profile_follows_the_second_upload_of_a_session(open_page, tmp_path):
    first, second = tmp_path / "ui-first-upload.csv", tmp_path / "ui-second-upload.csv"
    pd.DataFrame({"a": range(30), "b": ["x", "y", "z"] * 10}).to_csv(first, index=False)
    pd.DataFrame({"c": range(40), "d": ["p", "q"] * 20}).to_csv(second, index=False)
    page: Page = open_page()
    page.goto("/")
    upload_in_browser(page, first)
    expect(page.get_by_role("heading", name="Profile of ui-first-upload")).to_be_visible()
    settled(page)
    upload_in_browser(page, second)
    expect(page.get_by_role("heading", name="Profile of ui-second-upload")).to_be_visible()
    expect(page.get_by_role("heading", name="Profile of ui-first-upload")).to_have_count(0)


WIDE_COLUMNS = 2_001


def test_a_wide_data_set_shows_a_few_charts_and_finds_any_column_by_name(open_page, client):
    rng = np.random.default_rng(2)
    wide = pd.DataFrame(rng.integers(0, 10, (200, WIDE_COLUMNS - 1)), columns=[f"g{i:04d}" for i in range(1, WIDE_COLUMNS)])
    wide["label"] = rng.choice(["a", "b"], 200)
    upload_frame(client, wide, "ui-wide")
    page: Page = open_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Profile of ui-wide")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Charts of 12 of 2,001 columns"))).to_be_visible()
    settled(page)
    assert charts(page).count() <= 13
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 8_000, f"the page is {height}px tall"
    page.get_by_label("Find columns").fill("g1999")
    page.keyboard.press("Enter")
    chart_titled(page, "g1999")
