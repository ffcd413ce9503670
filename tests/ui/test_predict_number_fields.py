"""Issue 26, item 6: a cleared number field is missing (optional) or asked for (required), never 0;
text that is not a number is refused with a message that names the field."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .pages import pick, settled


@pytest.fixture
def form(open_page, form_model) -> Page:
    page: Page = open_page()
    page.goto("/predict")
    pick(page, "Model", form_model)
    expect(page.get_by_text("trained on ui-form-data")).to_be_visible()
    settled(page)
    return page


def predict(page: Page) -> None:
    page.get_by_role("button", name="Predict", exact=True).click()
    settled(page)


def prediction(page: Page):
    return page.get_by_text(re.compile(r"^Prediction: "))


def refused(page: Page, field: str, text: str, message: str) -> None:
    """`text` in `field` gets `message` beside the button, and no prediction."""
    page.get_by_label(field, exact=True).fill(text)
    predict(page)
    expect(page.get_by_text(message)).to_be_visible()
    expect(prediction(page)).to_have_count(0)


def test_a_cleared_required_number_is_asked_for_not_sent_as_zero(form: Page):
    refused(form, "age", "", "Fill in the required fields: age.")


def test_a_cleared_optional_number_is_sent_as_unknown(form: Page):
    form.get_by_label("weight", exact=True).fill("")
    predict(form)
    expect(prediction(form)).to_be_visible()
    expect(form.get_by_text(re.compile(r"inputs are blank \(weight\)"))).to_be_visible()
    expect(form.get_by_text("weight = 0")).to_have_count(0)


def test_text_that_is_not_a_number_is_refused_with_the_fields_name(form: Page):
    refused(form, "weight", "4O.5", "weight: '4O.5' is not a number.")


def test_a_fraction_in_a_whole_number_field_is_refused(form: Page):
    refused(form, "age", "39.5", "age: '39.5' is not a whole number.")
