"""Issue 26, item 7: every bar of a chart keeps its label (category bars, missing values, feature
importance) and class probabilities are labelled without one label written over another."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import SPECIES
from .pages import axis_labels, overlapping, pick, settled


def shown(labels: list[dict]) -> list[str]:
    return sorted(label["text"] for label in labels)


def profile_page(open_page) -> Page:
    page: Page = open_page()
    page.goto("/")
    expect(page.get_by_role("combobox", name="Look at")).to_be_visible()
    pick(page, "Look at", "ui-species ·")
    expect(page.get_by_role("heading", name="Profile of ui-species")).to_be_visible()
    settled(page)
    return page


def test_category_bars_label_every_category(open_page, species_training):
    page = profile_page(open_page)
    labels = axis_labels(page, "habitat")
    assert shown(labels) == ["coast", "ice", "rock"]
    assert not overlapping(labels)


def test_missing_values_chart_labels_every_column(open_page, species_training):
    page = profile_page(open_page)
    labels = axis_labels(page, "Missing values per column")
    assert shown(labels) == [f"measurement_{i:02d}" for i in range(1, 17)], shown(labels)
    assert not overlapping(labels)


def test_feature_importance_labels_every_bar(open_page, species_training):
    page: Page = open_page()
    page.goto(f"/train?train_job={species_training['id']}")
    title = "Which columns matter most (top 15)"
    labels = axis_labels(page, title)
    assert len(labels) == 15, shown(labels)
    assert not overlapping(labels)


def test_class_probabilities_label_every_class_without_overlap(open_page, species_training):
    page: Page = open_page()
    page.goto("/predict")
    pick(page, "Model", "ui-species-model")
    settled(page)
    page.get_by_role("button", name="Predict", exact=True).click()
    labels = axis_labels(page, "Probability of each class")
    assert shown(labels) == sorted(SPECIES), shown(labels)
    assert not overlapping(labels), overlapping(labels)
