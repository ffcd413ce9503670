"""`records_frame` builds the same frame from JSON records as the CSV reader and `coerce` build
from the same values in a file, so online and batch predictions see identical inputs."""

import numpy as np
import pandas as pd
import pytest

from pipeline_common.tabular import Column, DataError, checked_rows, coerce, read_csv, records_frame

SCHEMA = [
    Column("age", "long"),
    Column("hours", "double"),
    Column("job", "string", required=False),
    Column("score", "double", required=False),
    Column("visits", "long", required=False),
]


def from_csv(text: str) -> pd.DataFrame:
    return coerce(read_csv(text.encode()), SCHEMA)


def test_records_give_the_frame_a_csv_with_the_same_values_gives():
    records = [
        {"age": 39, "hours": "40.5", "job": "clerk", "score": 1, "visits": "3"},
        {"age": "50", "hours": 60, "job": "NA", "score": None, "visits": ""},
    ]
    csv = "age,hours,job,score,visits\n39,40.5,clerk,1,3\n50,60,NA,,\n"
    pd.testing.assert_frame_equal(records_frame(records, SCHEMA), from_csv(csv))


def test_a_whole_number_column_without_gaps_is_int64_and_with_gaps_float64():
    full = records_frame([{"age": 1, "hours": 1, "visits": 2}], SCHEMA)
    gappy = records_frame([{"age": 1, "hours": 1, "visits": 2}, {"age": 2, "hours": 1, "visits": None}], SCHEMA)
    assert full["age"].dtype == np.int64 and full["visits"].dtype == np.int64
    assert gappy["visits"].dtype == np.float64 and np.isnan(gappy["visits"].iloc[1])


def test_a_missing_string_is_none_and_a_number_in_a_string_column_becomes_text():
    frame = records_frame([{"age": 1, "hours": 1, "job": 7}, {"age": 1, "hours": 1, "job": "?"}], SCHEMA)
    assert frame["job"].dtype == object and frame["job"].tolist() == ["7", None]


def test_columns_come_in_the_schemas_order_whatever_the_records_order():
    frame = records_frame([{"visits": 1, "hours": 2, "age": 3}], SCHEMA)
    assert list(frame.columns) == [c.name for c in SCHEMA]


def test_a_whole_number_too_large_for_int64_gets_a_data_error_naming_the_field():
    with pytest.raises(DataError) as err:
        records_frame([{"age": 10**30, "hours": 1}], SCHEMA)
    assert err.value.field == "records[0].age" and "range" in err.value.reason


def test_checked_rows_are_the_typed_cells_without_a_frame():
    # Prediction jobs only check their records (building a frame was a fifth of a submission's CPU).
    rows = checked_rows([{"age": "39", "hours": 40, "job": "NA", "visits": "3"}], SCHEMA)
    assert rows == [{"age": 39.0, "hours": 40, "job": None, "score": None, "visits": 3.0}]


def test_checked_rows_refuse_what_records_frame_refuses_naming_the_same_field():
    bad = [{"age": 1, "hours": 1}, {"age": 1, "hours": "many"}]
    with pytest.raises(DataError) as checked:
        checked_rows(bad, SCHEMA)
    with pytest.raises(DataError) as framed:
        records_frame(bad, SCHEMA)
    assert checked.value.field == framed.value.field == "records[1].hours"


def test_a_csv_with_a_true_false_column_with_gaps_reads_its_values_and_gaps():
    df = read_csv(b"x,flag\n1,True\n2,\n3,False\n")
    assert df["flag"].tolist()[0] is True and df["flag"].tolist()[2] is False and pd.isna(df["flag"].tolist()[1])
