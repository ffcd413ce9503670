"""The API and the processor read a model's expected columns from its MLflow signature the same way."""

import pandas as pd
import pytest
from mlflow.models import infer_signature
from pipeline_common.tabular import Column, columns_from_signature


@pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning")
def test_signature_columns_keep_name_type_and_order():
    frame = pd.DataFrame({"age": [30.0], "job": ["clerk"], "hours": [40]})
    columns = columns_from_signature(infer_signature(frame, pd.Series([1])))
    assert columns == [Column("age", "double"), Column("job", "string"), Column("hours", "long")]


def test_model_without_signature_is_refused_with_its_uri():
    with pytest.raises(ValueError, match="models:/m/3 has no input signature"):
        columns_from_signature(None, "models:/m/3")
