"""Issue 26, item 5: the Train page starts from a data set that can train and a target that is a
class column (named like a label when several are), not the newest upload and its last column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from .conftest import upload_frame


def penguins(rows: int = 120) -> pd.DataFrame:
    """Shaped like the Palmer penguins: the class first, a year of three values last."""
    rng = np.random.default_rng(7)
    sex = rng.choice(["male", "female"], rows).astype(object)
    sex[::15] = None
    return pd.DataFrame(
        {
            "species": rng.choice(["Adelie", "Gentoo", "Chinstrap"], rows),
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], rows),
            "bill_length_mm": rng.normal(44, 5, rows).round(1),
            "sex": sex,
            "year": rng.choice([2007, 2008, 2009], rows),
        }
    )


@pytest.fixture(scope="module")
def training_then_scoring_file(client):
    """The training file, then (newer) the file to score: the same columns without the class."""
    data = penguins()
    upload_frame(client, data, "ui-penguins")
    upload_frame(client, data.drop(columns="species").head(30), "ui-penguins-to-score")


def combobox(page: Page, name: str):
    return page.get_by_role("combobox", name=name, exact=True)


def test_train_defaults_to_the_data_set_that_can_train_not_the_newer_scoring_file(open_page, training_then_scoring_file):
    page: Page = open_page()
    page.goto("/train")
    expect(combobox(page, "Data set")).to_match_aria_snapshot('- combobox "Data set": /ui-penguins · 120 rows.*/')


def test_train_defaults_to_the_class_column_not_the_last_column(open_page, training_then_scoring_file):
    page: Page = open_page()
    page.goto("/train")
    expect(combobox(page, "Column to predict (target)")).to_match_aria_snapshot('- combobox "Column to predict (target)": species')


def test_among_several_class_columns_the_one_named_like_a_label_is_the_default(open_page, client):
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], 60),
            "label": rng.choice(["ok", "faulty"], 60),
            "size": rng.normal(10, 2, 60).round(2),
            "batch": rng.choice([1, 2, 3], 60),
        }
    )
    upload_frame(client, frame, "ui-labelled")
    page: Page = open_page()
    page.goto("/train")
    expect(combobox(page, "Data set")).to_match_aria_snapshot('- combobox "Data set": /ui-labelled · .*/')
    expect(combobox(page, "Column to predict (target)")).to_match_aria_snapshot('- combobox "Column to predict (target)": label')
