"""Issue 26, item 6: a cleared number field is missing (optional) or asked for (required), never 0;
text that is not a number is refused with a message that names the field."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .pages import choose, settled


@pytest.fixture
def form(open_page, form_model) -> Page:
    page: Page = open_page()
    page.goto("/predict")
    choose(page, "Model", form_model)
    expect(page.get_by_label("weight", exact=True)).to_be_visible()
    settled(page)
    return page


def predict(page: Page) -> None:
    page.get_by_role("button", name="Predict", exact=True).click()
    settled(page)


def prediction(page: Page):
    return page.get_by_text(re.compile(r"^Prediction: "))


def test_a_cleared_required_number_is_asked_for_not_sent_as_zero(form: Page):
    form.get_by_label("age", exact=True).fill("")
    predict(form)
    expect(form.get_by_text("Fill in the required fields: age.")).to_be_visible()
    expect(prediction(form)).to_have_count(0)


def test_a_cleared_optional_number_is_sent_as_unknown(form: Page):
    form.get_by_label("weight", exact=True).fill("")
    predict(form)
    expect(prediction(form)).to_be_visible()
    expect(form.get_by_text(re.compile(r"inputs are blank \(weight\)"))).to_be_visible()
    expect(form.get_by_text("weight = 0")).to_have_count(0)


def test_text_that_is_not_a_number_is_refused_with_the_fields_name(form: Page):
    form.get_by_label("weight", exact=True).fill("4O.5")
    predict(form)
    expect(form.get_by_text("weight: '4O.5' is not a number.")).to_be_visible()
    expect(prediction(form)).to_have_count(0)


def test_a_fraction_in_a_whole_number_field_is_refused(form: Page):
    form.get_by_label("age", exact=True).fill("39.5")
    predict(form)
    expect(form.get_by_text("age: '39.5' is not a whole number.")).to_be_visible()
    expect(prediction(form)).to_have_count(0)
