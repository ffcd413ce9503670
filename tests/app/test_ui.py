"""The Streamlit UI against a running API (Streamlit's AppTest)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .flow import train, upload

APP = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "pipeline_ui" / "app.py")


@pytest.fixture
def ui(api_url, stack, monkeypatch):
    monkeypatch.setenv("API_URL", api_url)
    monkeypatch.setenv("API_TOKEN", stack.api_token)
    return AppTest.from_file(APP, default_timeout=30)


def goto(at: AppTest, page: str) -> AppTest:
    at.run()
    at.sidebar.radio[0].set_value(page).run()
    return at


def test_data_page_lists_uploaded_data_sets(ui, client, csv_bytes):
    upload(client, csv_bytes, "ui-listed")
    at = goto(ui, "Data")
    assert not at.exception
    assert "ui-listed" in at.dataframe[0].value["name"].tolist()


def test_models_page_shows_the_champion(ui, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "ui-train")
    assert train(client, ds["id"], "ui-model")["status"] == "succeeded"
    at = goto(ui, "Models")
    assert not at.exception
    assert "ui-model" in [s.value for s in at.subheader]


def test_api_errors_are_shown_as_messages_not_tracebacks(ui, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "wrong-token")
    at = goto(ui, "Data")
    assert not at.exception
    assert "invalid bearer token" in at.error[0].value


def test_predict_page_builds_its_form_from_the_champion_signature(ui, client, worker, csv_bytes):
    ds = upload(client, csv_bytes, "ui-form")
    assert train(client, ds["id"], "tabular-classifier")["status"] == "succeeded"
    at = goto(ui, "Predict")
    assert not at.exception
    assert {n.label for n in at.number_input} == {"age", "hours"}
    assert "job" in {t.label for t in at.text_input}
