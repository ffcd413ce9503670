"""A scored data set that holds the column the model predicts says how often the prediction is the value
the data set holds (issue #26 item 11): compared as the training compared them."""

import numpy as np
import pandas as pd
from data_processor.scoring import agreement


def labels(*values: str) -> np.ndarray:
    return np.asarray(values, dtype=object)


def test_rows_without_a_value_are_not_counted():
    assert agreement(pd.Series(["a", None, "b"]), labels("a", "b", "a")) == (1, 2)


def test_whole_numbers_read_as_floats_in_a_row_group_with_gaps_match_their_classes():
    assert agreement(pd.Series([1.0, 0.0, np.nan]), labels("1", "1", "0")) == (1, 2)


def test_whole_numbers_read_as_integers_match_their_classes():
    assert agreement(pd.Series([1, 0, 1], dtype="int64"), labels("1", "0", "0")) == (2, 3)


def test_yes_no_values_match_their_classes_as_text():
    assert agreement(pd.Series([True, False]), labels("True", "True")) == (1, 2)


def test_a_column_without_any_value_counts_nothing():
    assert agreement(pd.Series([None, None], dtype=object), labels("a", "b")) == (0, 0)
