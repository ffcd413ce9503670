"""Prediction records are checked against the registered model's input signature."""

from tests.conftest import READ_ONLY_MODEL as MODEL


def predict(client, records):
    return client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": records})


def test_wrong_type_gets_422_naming_the_field(client, read_only_model):
    r = predict(client, [{"age": "old", "hours": 40, "job": "clerk"}])
    assert r.status_code == 422 and r.json()["field"] == "records[0].age" and "expected a number" in r.json()["detail"]


def test_missing_column_gets_422_naming_the_field(client, read_only_model):
    r = predict(client, [{"age": 30, "hours": 40, "job": "clerk"}, {"age": 30, "job": "clerk"}])
    assert r.status_code == 422 and r.json()["field"] == "records[1].hours"


def test_unknown_column_gets_422(client, read_only_model):
    r = predict(client, [{"age": 30, "hours": 40, "job": "clerk", "salary": 1}])
    assert r.status_code == 422 and "records[0].salary" in r.json()["detail"]


def test_feedback_record_is_checked_too(client, read_only_model):
    r = client.post("/api/v1/feedback", json={"model_name": MODEL, "record": {"age": "x"}, "label": ">50K"})
    assert r.status_code == 422 and "record" in r.json()["detail"]


def test_a_registered_version_carries_the_input_columns_of_its_signature(stack, read_only_model, monkeypatch):
    """The API checks records against this tag; the processor against the signature itself."""
    import mlflow
    from mlflow import MlflowClient

    from pipeline_common.tabular import INPUTS_TAG, columns_from_signature, columns_from_tag
    from tests.app.services import S3_ENV

    for k, v in {**S3_ENV, "MLFLOW_TRACKING_URI": stack.mlflow, "MLFLOW_S3_ENDPOINT_URL": stack.s3}.items():
        monkeypatch.setenv(k, v)  # this process reads the registry as a client, with the names the catalog gives
    version = MlflowClient(stack.mlflow).get_model_version_by_alias(MODEL, "champion")
    signature = mlflow.models.get_model_info(f"models:/{MODEL}/{version.version}").signature
    assert columns_from_tag(version.tags[INPUTS_TAG]) == columns_from_signature(signature)
