"""The UI's pages and client logic with Streamlit's AppTest: against the running API where the
data matters, against a scripted client where a fault or a count matters. The browser flow is tests/ui."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipeline_ui import client as ui_client
from pipeline_ui.client import ApiClient, ApiError

from .flow import train, upload


def run_view(name: str, query: dict | None = None, timeout: float = 120) -> AppTest:
    """One page of the UI as st.navigation runs it (the pages are functions in pipeline_ui.views)."""

    def script(view: str):
        import importlib

        importlib.import_module(f"pipeline_ui.views.{view}").render()

    at = AppTest.from_function(script, args=(name,), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


@pytest.fixture
def live(api_url, stack, monkeypatch):
    monkeypatch.setenv("API_URL", api_url)
    monkeypatch.setenv("API_TOKEN", stack.api_token)


def texts(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "caption", "success", "error", "warning", "info") for e in getattr(at, kind))


# -- against the running API -----------------------------------------------------------------
def test_data_page_lists_data_sets_by_name_size_and_date_without_ids(live, client, csv_bytes):
    ds = upload(client, csv_bytes, "ui-listed")
    at = run_view("data")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["name", "rows", "columns", "uploaded (UTC)"]
    row = table[table["name"] == "ui-listed"].iloc[0]
    assert (row["rows"], row["columns"]) == (400, 4)
    assert ds["id"] not in table.to_string()


def test_data_page_shows_the_profile_as_types_and_charts(live, client, csv_bytes):
    upload(client, csv_bytes, "ui-profile")
    at = run_view("data")
    summary = at.dataframe[1].value
    assert dict(zip(summary["column"], summary["type"])) == {"age": "whole number", "hours": "whole number", "job": "category", "income": "category"}
    assert summary.set_index("column").loc["job", "missing"] == 10


def test_train_page_refuses_a_target_the_profile_rules_out(live, client, csv_bytes):
    upload(client, csv_bytes, "ui-refuse")
    at = run_view("train")
    at.selectbox(key=next(s.key for s in at.selectbox if s.label.startswith("Column to predict"))).set_value("age").run()
    assert any("**age** cannot be a target" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Start training").disabled


def test_train_page_follows_the_job_named_in_the_address(live, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "ui-follow")
    job = train(client, ds["id"], "ui-follow-model")
    at = run_view("train", {"train_job": job["id"]})
    assert not at.exception
    assert any("ui-follow-model" in s.value and "version" in s.value for s in at.success)
    assert {m.label for m in at.metric} >= {"Accuracy", "F1", "ROC AUC"}


def test_train_page_defaults_to_the_existing_model(live, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "ui-existing")
    assert train(client, ds["id"], "ui-existing-model")["status"] == "succeeded"
    at = run_view("train")
    model = next(s for s in at.selectbox if s.label == "Model")
    assert model.value != "New model…"
    assert not [t for t in at.text_input if t.label == "New model name"]


def test_predict_form_uses_choices_and_whole_numbers_from_the_training_data(live, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "ui-form")
    assert train(client, ds["id"], "tabular-classifier")["status"] == "succeeded"
    at = run_view("predict")
    assert not at.exception
    numbers = {n.label: n.value for n in at.number_input if n.label in ("age", "hours")}
    assert set(numbers) == {"age", "hours"} and all(isinstance(v, int) for v in numbers.values())
    job = next(s for s in at.selectbox if s.label == "job")
    assert set(job.options) >= {"clerk", "engineer", "farmer", "teacher"}


def test_api_errors_are_shown_as_messages_not_tracebacks(live, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "wrong-token")
    at = run_view("data")
    assert not at.exception
    assert "invalid bearer token" in at.error[0].value


# -- against a scripted client ----------------------------------------------------------------
DATASET = {"id": "d1", "name": "toy", "rows": 3, "columns": [{"name": "x", "dtype": "int64"}, {"name": "y", "dtype": "object"}], "created_at": "2026-11-29T01:00:00Z"}
PROFILE = {
    "rows": 3, "column_count": 2, "created_at": "2026-11-29T01:00:00Z",
    "columns": [
        {"name": "x", "dtype": "int64", "kind": "integer", "missing": 0, "distinct": 3, "target_problem": None, "min": 1, "max": 3, "median": 2, "histogram": {"edges": [1, 2, 3], "counts": [1, 2]}, "top_values": [{"value": "1", "count": 1}]},
        {"name": "y", "dtype": "object", "kind": "categorical", "missing": 0, "distinct": 2, "target_problem": None, "top_values": [{"value": "a", "count": 2}, {"value": "b", "count": 1}]},
    ],
}  # fmt: skip
MODEL = {"name": "toy-model", "aliases": {"champion": "1"}, "inputs": [{"name": "x", "type": "long", "required": True}],
         "versions": [{"version": "1", "aliases": ["champion"], "metrics": {"accuracy": 0.9}, "created_at": 1764378000000, "params": {"dataset_id": "d1", "target": "y"}}]}  # fmt: skip
BATCH_JOB = {"id": "j1", "kind": "prediction", "status": "succeeded", "created_at": "2026-11-29T01:00:00Z",
             "result": {"model_name": "toy-model", "model_version": "1", "object_key": "k", "rows": 2}, "error": None}  # fmt: skip


@pytest.fixture
def scripted(monkeypatch):
    """ApiClient answers from these dicts; `calls` counts each method's calls; `fail` makes one raise."""
    calls: dict[str, int] = {}
    fail: dict[str, ApiError] = {}
    answers = {
        "datasets": lambda *a, **k: [DATASET],
        "profile": lambda *a, **k: PROFILE,
        "preview": lambda *a, **k: {"columns": ["x", "y"], "rows": [{"x": 1, "y": "a"}]},
        "models": lambda *a, **k: [MODEL],
        "job": lambda *a, **k: BATCH_JOB,
        "result_csv": lambda *a, **k: b"x,prediction,probability\n1,a,0.9\n2,b,0.8\n",
    }
    for name, answer in answers.items():

        def method(self, *a, _name=name, _answer=answer, **k):
            calls[_name] = calls.get(_name, 0) + 1
            if _name in fail:
                raise fail[_name]
            return _answer(*a, **k)

        monkeypatch.setattr(ApiClient, name, method)
    return calls, fail


def test_a_failing_call_leaves_the_rest_of_the_page(scripted):
    _, fail = scripted
    fail["profile"] = ApiError("The pipeline API had a problem (boom). Try again shortly.")
    at = run_view("data")
    assert not at.exception
    assert "toy" in at.dataframe[0].value["name"].tolist()  # the list stays
    assert at.button and any(b.label == "Upload data set" for b in at.button)  # so does the upload form
    assert "boom" in at.error[0].value


def test_batch_result_is_summarised_and_downloaded_once(scripted):
    calls, _ = scripted
    at = run_view("predict", {"batch_job": "j1"})
    assert not at.exception
    assert any("Scored **2 rows**" in s.value for s in at.success)
    at.run()
    at.run()
    assert calls["result_csv"] == 1


def test_feedback_offers_existing_models_and_their_classes(scripted):
    at = run_view("feedback")
    assert not at.exception
    assert at.selectbox[0].options == ["toy-model"]
    assert at.selectbox[1].label == "True y" and at.selectbox[1].options == ["a", "b"]
    assert '"x": 2' in at.text_area[0].value  # a template from the training data's median


def test_models_page_shows_date_data_set_target_and_the_champion(scripted):
    at = run_view("models")
    row = at.dataframe[0].value.iloc[0]
    assert (row["role"], row["data set"], row["target"]) == ("champion", "toy", "y")
    assert row["registered (UTC)"].startswith("2025-11-29")


def test_failure_messages_are_cut_to_a_sentence():
    classes = ", ".join(str(i) for i in range(5000))
    msg = ui_client.first_sentence(f"y contains classes the model cannot split. Seen: {classes}")
    assert msg == "y contains classes the model cannot split …"


def test_error_lists_become_one_sentence_naming_every_missing_column():
    body = {
        "detail": "records[0].age: is missing",
        "field": "records[0].age",
        "errors": [{"field": f"records[0].{c}", "reason": "is missing"} for c in ("age", "hours", "job")]
        + [{"field": "records[0].weight", "reason": "expected a number, got 'abc'"}],
    }
    assert ui_client.message(422, body) == "The 3 columns are missing: age, hours, job. weight: expected a number, got 'abc'."
