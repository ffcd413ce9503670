"""The UI's pages and client logic with Streamlit's AppTest: against the running API where the
data matters, against a scripted client where a fault or a count matters. The browser flow is tests/ui."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pipeline_ui import client as ui_client
from pipeline_ui.client import ApiClient, ApiError

from .flow import train, upload


def run_view(name: str, query: dict | None = None, timeout: float = 120, state: dict | None = None) -> AppTest:
    """One page of the UI as st.navigation runs it (the pages are functions in pipeline_ui.views)."""

    def script(view: str):
        import importlib

        importlib.import_module(f"pipeline_ui.views.{view}").render()

    at = AppTest.from_function(script, args=(name,), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    for k, v in (state or {}).items():  # a widget's choice, as a user's earlier pick leaves it
        at.session_state[k] = v
    return at.run()


@pytest.fixture
def live(api_url, stack, monkeypatch):
    # The UI runs in this process (Streamlit's AppTest): API_URL and API_TOKEN as the catalog gives the ui container.
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
    ds = upload(client, csv_bytes, "ui-refuse")
    # Chosen as a user would: the page's default is a data set that can train, maybe another one.
    at = run_view("train", state={"train_dataset": ds["id"]})
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
    # Its own model: a model keeps the inputs of its first version, and other tests train other data.
    assert train(client, ds["id"], "ui-form-numbers")["status"] == "succeeded"
    at = run_view("predict", state={"predict_model": "ui-form-numbers"})
    assert not at.exception
    numbers = {n.label: n.value for n in at.text_input if n.label in ("age", "hours")}  # text: a blank stays blank
    assert set(numbers) == {"age", "hours"} and all(v.isdigit() for v in numbers.values()), numbers
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


# -- the training result's pictures (show_training_result alone) -------------------------------
DIAGNOSTICS = {
    "confusion_matrix": {"labels": ["<=50K", ">50K"], "counts": [[4200, 330], [560, 940]]},
    "roc": [{"label": ">50K", "fpr": [0.0, 0.05, 0.2, 1.0], "tpr": [0.0, 0.61, 0.88, 1.0], "auc": 0.9234567}],
    "feature_importance": {
        "scoring": "roc_auc", "rows": 2000, "repeats": 3,
        "features": [{"feature": f"col{i}", "importance": 0.1234567 / (i + 1), "std": 0.0012345} for i in range(20)],
    },
}  # fmt: skip
TRAIN_RESULT = {
    "run_id": "r1", "model_name": "toy-model", "model_version": "2", "champion": True,
    "metrics": {"accuracy": 0.8712345678, "f1": 0.7123456789, "roc_auc": 0.9234567891},
    "previous_champion_metrics": {"accuracy": 0.85, "f1": 0.7, "roc_auc": 0.91},
}  # fmt: skip


def show_result(result: dict) -> AppTest:
    def script(result: dict):
        from pipeline_ui.views.train import show_training_result

        show_training_result({"id": "t1", "kind": "training", "status": "succeeded", "result": result})

    return AppTest.from_function(script, args=(result,), default_timeout=60).run()


def charts(at: AppTest) -> dict[str, dict]:
    """Each Altair chart's Vega-Lite spec by its title."""
    import json

    specs = [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]
    title = lambda s: s["title"]["text"] if isinstance(s.get("title"), dict) else s.get("title", "")  # noqa: E731
    return {title(s): s for s in specs}


def chart_tables(element) -> list:
    import pyarrow as pa

    return [pa.ipc.open_stream(d.data.data).read_all() for d in element.datasets] or [pa.ipc.open_stream(element.data.data).read_all()]


def chart_rows(at: AppTest, title: str) -> int:
    i = list(charts(at)).index(title)
    return max(t.num_rows for t in chart_tables(at.get("vega_lite_chart")[i].proto))


def test_training_result_draws_a_confusion_matrix_roc_curve_and_feature_importance():
    at = show_result({**TRAIN_RESULT, "diagnostics": DIAGNOSTICS})
    assert not at.exception
    titles = list(charts(at))
    assert any(t.startswith("Confusion matrix") for t in titles), titles
    assert any(t.startswith("ROC curve") for t in titles), titles
    assert any(t.startswith("Which columns matter") for t in titles), titles


def test_confusion_matrix_is_a_heatmap_with_the_counts_written_in():
    at = show_result({**TRAIN_RESULT, "diagnostics": DIAGNOSTICS})
    spec = next(s for t, s in charts(at).items() if t.startswith("Confusion matrix"))
    assert {layer["mark"]["type"] for layer in spec["layer"]} == {"rect", "text"}


def test_roc_curve_is_drawn_with_the_chance_diagonal():
    at = show_result({**TRAIN_RESULT, "diagnostics": DIAGNOSTICS})
    spec = next(s for t, s in charts(at).items() if t.startswith("ROC curve"))
    assert len(spec["layer"]) == 2
    assert any(layer["mark"].get("strokeDash") for layer in spec["layer"])  # the diagonal, dashed


def test_feature_importance_shows_the_top_15_columns():
    at = show_result({**TRAIN_RESULT, "diagnostics": DIAGNOSTICS})
    title = next(t for t in charts(at) if t.startswith("Which columns matter"))
    assert chart_rows(at, title) == 15


def test_one_class_held_out_rows_draw_no_roc_curve_and_say_why():
    at = show_result({**TRAIN_RESULT, "diagnostics": {**DIAGNOSTICS, "roc": None}})
    assert not any(t.startswith("ROC curve") for t in charts(at))
    assert any(t.startswith("Confusion matrix") for t in charts(at))
    assert any("no ROC curve" in c.value for c in at.caption)


def test_a_result_without_diagnostics_draws_only_the_metrics_chart():
    at = show_result(TRAIN_RESULT)  # a job trained before diagnostics existed
    assert not at.exception
    assert list(charts(at)) == ["Held-out test metrics (higher is better)"]


def test_training_result_shows_no_long_raw_floats():
    import json
    import re

    at = show_result({**TRAIN_RESULT, "diagnostics": DIAGNOSTICS})
    shown = texts(at) + "\n".join(f"{m.label} {m.value} {m.delta or ''}" for m in at.metric)
    for spec in charts(at).values():  # titles, axis titles, legend labels: what the SVG writes
        shown += json.dumps({k: v for k, v in spec.items() if k not in ("data", "datasets")})
    for e in at.get("vega_lite_chart"):  # and labels that come with the data (legend entries, text marks)
        shown += " ".join(str(v) for t in chart_tables(e.proto) for c in t.columns if str(c.type) == "string" for v in c.to_pylist())
    assert not re.search(r"\d\.\d{6,}", shown)


def test_a_metric_change_that_rounds_away_reads_as_the_same_never_minus_zero():
    at = show_result({**TRAIN_RESULT, "metrics": {**TRAIN_RESULT["metrics"], "roc_auc": 0.91 - 1e-9}})
    roc = next(m for m in at.metric if m.label == "ROC AUC")
    assert roc.delta == "same as champion", roc.delta


def test_profile_ranges_are_written_without_exponents():
    from pipeline_ui.views.data import value_summary

    col = {"histogram": {"edges": [0, 1], "counts": [1]}, "min": 12_285, "max": 1_484_705, "median": 178_356.5}
    assert value_summary(col) == "12,285 … 1,484,705 (median 178,356)"


def test_a_finished_job_reads_as_a_sentence_with_its_duration():
    from pipeline_ui.widgets import status_line

    job = {"id": "1a2b3c4d5e", "kind": "training", "status": "succeeded", "created_at": "2026-11-29T01:00:00Z", "finished_at": "2026-11-29T01:00:46Z"}
    assert status_line(job).endswith("Training job `1a2b3c4d` succeeded after 46 s (started 2026-11-29 01:00 UTC)")
