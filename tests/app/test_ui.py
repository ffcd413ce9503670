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
    # Chosen as a user would: the page's default data set may be another upload of the session.
    at = run_view("train", state={"train_dataset": ds["id"]})
    model = next(s for s in at.selectbox if s.label == "Model")
    assert model.value == "ui-existing-model"  # the model trained last on these columns, for this target
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


def test_the_uis_promotion_reaches_the_registry_with_its_reason_and_the_ui_as_author(live, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "ui-promote")
    assert train(client, ds["id"], "ui-promote-model")["status"] == "succeeded"
    done = ApiClient().set_champion("ui-promote-model", "1", "checked by hand")
    assert (done["version"], done["by"], done["reason"]) == ("1", "the UI", "checked by hand")


def test_data_page_deletes_a_data_set_once_the_deletion_is_ticked(live, client, csv_bytes):
    ds = upload(client, csv_bytes, "ui-delete-me")
    at = run_view("data", state={"data_pick": ds["id"]})
    button = at.button(key=f"delete:{ds['id']}")
    assert button.disabled  # nothing goes without the tick
    at.checkbox(key=f"delete_sure:{ds['id']}").check().run()
    at.button(key=f"delete:{ds['id']}").click().run()
    assert not at.exception
    assert client.get(f"/api/v1/datasets/{ds['id']}").status_code == 404
    assert any("Deleted **ui-delete-me**" in s.value for s in at.success)
    assert "ui-delete-me" not in at.dataframe[0].value["name"].tolist()


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


def test_jobs_page_names_the_data_set_a_job_used_not_its_id(scripted, monkeypatch):
    jobs = [
        {**BATCH_JOB, "params": {"model_name": "toy-model", "dataset_id": "d1"}},
        {**BATCH_JOB, "id": "j2", "params": {"model_name": "toy-model", "dataset_id": "gone"}},
        {"id": "j3", "kind": "training", "status": "succeeded", "created_at": "2026-11-29T01:00:00Z", "error": None,
         "params": {"model_name": "toy-model", "dataset_id": "d1", "target": "y"}, "result": {"model_version": "1"}},
    ]  # fmt: skip
    monkeypatch.setattr(ApiClient, "jobs", lambda self, **k: jobs)
    at = run_view("jobs")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["data set"]) == ["toy", "a deleted data set", "toy"]
    assert list(table["target / input"]) == ["", "", "y"]
    assert list(table["details"]) == ["predict?batch_job=j1", "predict?batch_job=j2", "train?train_job=j3"]


def test_train_page_defaults_to_the_model_the_data_set_and_target_fit(scripted):
    at = run_view("train")
    assert at.selectbox(key="target_d1").value == "y"
    assert next(s for s in at.selectbox if s.label == "Model").value == "toy-model"


def test_train_page_defaults_to_a_new_model_named_after_the_data_when_no_model_predicts_the_target(scripted):
    at = run_view("train")
    at.selectbox(key="target_d1").set_value("x").run()
    assert next(s for s in at.selectbox if s.label == "Model").value == "New model…"
    assert next(t for t in at.text_input if t.label == "New model name").value == "toy-x"
    assert any("No model predicts **x**" in c.value for c in at.caption)


def test_choosing_a_model_that_predicts_another_column_warns_before_training(scripted):
    at = run_view("train")
    at.selectbox(key="target_d1").set_value("x").run()
    next(s for s in at.selectbox if s.label == "Model").set_value("toy-model").run()
    assert any("**toy-model** predicts **y**" in w.value for w in at.warning)


TWO_VERSIONS = {**MODEL, "aliases": {"champion": "2"}, "versions": [
    {**MODEL["versions"][0], "version": "2", "aliases": ["champion"]},
    {**MODEL["versions"][0], "version": "1", "aliases": []},
]}  # fmt: skip


def test_models_page_makes_another_version_the_champion_with_a_reason(scripted, monkeypatch):
    registry = {"model": TWO_VERSIONS, "calls": []}

    def set_champion(self, model_name, version, reason):
        registry["calls"].append((model_name, version, reason))
        registry["model"] = {**TWO_VERSIONS, "aliases": {"champion": version}}
        return {"model_name": model_name, "version": version, "previous_version": "2"}

    monkeypatch.setattr(ApiClient, "models", lambda self: [registry["model"]])
    monkeypatch.setattr(ApiClient, "set_champion", set_champion)
    at = run_view("models")
    assert at.selectbox(key="champion_version:toy-model").options == ["1"]
    at.text_input(key="champion_reason:toy-model").set_value("roll back: version 2 mislabels new data")
    next(b for b in at.button if b.label == "Make it the champion").click().run()
    assert registry["calls"] == [("toy-model", "1", "roll back: version 2 mislabels new data")]
    assert any("Version 1 of toy-model is now the champion (it was version 2)" in s.value for s in at.success)
    assert any(c.value == "Champion: version 1" for c in at.caption)


def test_models_page_asks_why_before_changing_the_champion(scripted, monkeypatch):
    calls = []
    monkeypatch.setattr(ApiClient, "models", lambda self: [TWO_VERSIONS])
    monkeypatch.setattr(ApiClient, "set_champion", lambda self, *a: calls.append(a))
    at = run_view("models")
    next(b for b in at.button if b.label == "Make it the champion").click().run()
    assert calls == [] and any("Say why" in e.value for e in at.error)


def test_batch_scoring_offers_only_the_data_sets_holding_the_models_inputs(scripted, monkeypatch):
    unrelated = {**DATASET, "id": "d2", "name": "unrelated", "columns": [{"name": "z", "dtype": "int64"}, {"name": "w", "dtype": "object"}]}
    monkeypatch.setattr(ApiClient, "datasets", lambda self: [DATASET, unrelated])
    at = run_view("predict")
    box = at.selectbox(key="batch_dataset")
    assert box.options == [next(o for o in box.options if "toy" in o)] and "unrelated" not in " ".join(box.options)
    assert any("1 other lacks some" in c.value for c in at.caption)


def test_the_progress_steps_are_the_ones_the_worker_enters_in_its_order():
    import ast

    from pipeline_ui.widgets import STEPS

    from .services import REPO

    def entered(module: str) -> list[str]:
        tree = ast.parse((REPO / "app" / "processor" / "data_processor" / module).read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "enter"]
        return [c.args[1].value for c in sorted(calls, key=lambda c: c.lineno)]

    assert STEPS == {"training": entered("jobs.py"), "prediction": entered("scoring.py")}


@pytest.mark.parametrize(
    "job, count",
    [
        ({"kind": "training", "status": "queued", "step": None}, (0, 5)),
        ({"kind": "training", "status": "running", "step": "fitting"}, (2, 5)),
        ({"kind": "prediction", "status": "running", "step": "scoring"}, (2, 2)),
        ({"kind": "training", "status": "running", "step": "a step a newer worker has"}, (0, 5)),
    ],
)
def test_a_running_jobs_progress_counts_its_steps(job, count):
    from pipeline_ui.widgets import step_count

    assert step_count(job) == count


def test_models_page_links_each_version_to_its_training_jobs_diagnostics(scripted, monkeypatch):
    with_job = {**MODEL, "versions": [{**MODEL["versions"][0], "job_id": "t1"}]}
    monkeypatch.setattr(ApiClient, "models", lambda self: [with_job])
    at = run_view("models")
    assert at.dataframe[0].value.iloc[0]["training"] == "train?train_job=t1"


def test_a_prediction_is_offered_as_feedback_with_its_true_label(scripted, monkeypatch):
    sent = []
    answer = {"model_name": "toy-model", "model_version": "1",
              "predictions": [{"prediction": "a", "probability": 0.7, "probabilities": {"a": 0.7, "b": 0.3}}]}  # fmt: skip
    monkeypatch.setattr(ApiClient, "predict_online", lambda self, name, records: answer)
    monkeypatch.setattr(ApiClient, "feedback", lambda self, **body: sent.append(body) or {"id": "f1"})
    at = run_view("predict")
    next(b for b in at.button if b.label == "Predict").click().run()
    box = at.selectbox(key=next(s.key for s in at.selectbox if s.label == "True y"))
    assert (box.options, box.value) == (["a", "b"], "a")
    box.set_value("b")
    next(b for b in at.button if b.label == "Send as feedback").click().run()
    assert sent == [{"model_name": "toy-model", "record": {"x": 2}, "label": "b"}]
    assert any("Feedback stored: true y **b**" in s.value for s in at.success)


def test_a_scored_labelled_data_set_says_how_often_the_prediction_agrees(scripted, monkeypatch):
    labelled = {**BATCH_JOB, "result": {**BATCH_JOB["result"], "target": "y", "labelled_rows": 2, "agreement": 0.5}}
    monkeypatch.setattr(ApiClient, "job", lambda self, *a, **k: labelled)
    at = run_view("predict", {"batch_job": "j1"})
    assert any("holds **y**" in i.value and "**50.0%** of the 2 rows" in i.value for i in at.info)


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


def test_a_refusal_names_the_pages_field_not_the_apis():
    body = {
        "detail": "dataset_id: the data set lacks the model's input column 'island'",
        "field": "dataset_id",
        "errors": [{"field": "dataset_id", "reason": "the data set lacks the model's input column 'island'"}],
    }
    assert ui_client.message(409, body) == "Data set: the data set lacks the model's input column 'island'."


def test_a_record_column_keeps_its_own_name_even_when_an_api_field_has_it():
    body = {"detail": "records[0].target: is not a number", "field": "records[0].target", "errors": [{"field": "records[0].target", "reason": "is not a number"}]}
    assert ui_client.message(422, body) == "target: is not a number."


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


def show_result(result: dict, champion: str | None = None) -> AppTest:
    def script(result: dict, champion: str | None):
        from pipeline_ui.views.train import show_training_result

        show_training_result({"id": "t1", "kind": "training", "status": "succeeded", "result": result}, champion)

    return AppTest.from_function(script, args=(result, champion), default_timeout=60).run()


def test_a_training_with_feedback_says_how_many_feedback_records_it_used():
    assert any("3 feedback records joined the training data" in c.value for c in show_result({**TRAIN_RESULT, "feedback_rows": 3}).caption)


def test_an_old_training_page_says_its_version_was_replaced_as_champion_since():
    at = show_result(TRAIN_RESULT, champion="3")
    assert "version **3** has replaced it since" in at.success[0].value and "is now" not in at.success[0].value


def test_a_training_page_whose_version_still_leads_says_it_is_the_champion():
    assert "is now the **champion**" in show_result(TRAIN_RESULT, champion="2").success[0].value


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
