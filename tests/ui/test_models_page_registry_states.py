"""Issue 26, item 3: the Models page survives any registry state. A failed first training leaves an
empty registered model; versions can lack a run or metrics. Every model is still listed, and only
models with a version are offered for training."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .pages import nav, pick

EMPTY, UNSCORED, LISTED_AFTER = "ui-empty-model", "ui-unscored-model", "ui-zz-listed-model"


@pytest.fixture(scope="module")
def odd_registry(stack, api_url):
    """Registry states written with MLflow's own client, as a failed or foreign registration leaves them
    (MLflow lists registered models by name: the empty one comes before the others)."""
    from mlflow import MlflowClient

    mlflow = MlflowClient(tracking_uri=stack.mlflow, registry_uri=stack.mlflow)
    mlflow.create_registered_model(EMPTY)  # what a failed first training leaves
    mlflow.create_registered_model(UNSCORED)
    mlflow.create_model_version(UNSCORED, source="s3://mlflow-artifacts/ui-unscored", run_id=None)  # no run at all
    mlflow.create_registered_model(LISTED_AFTER)
    run = mlflow.create_run(experiment_id="0")
    mlflow.log_param(run.info.run_id, "target", "income")  # params, but no metrics
    mlflow.set_terminated(run.info.run_id)
    mlflow.create_model_version(LISTED_AFTER, source="s3://mlflow-artifacts/ui-listed", run_id=run.info.run_id)


def test_models_page_lists_every_model_despite_an_empty_one_and_versions_without_metrics(open_page, odd_registry):
    page: Page = open_page()
    page.goto("/models")
    for name in (EMPTY, UNSCORED, LISTED_AFTER):
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text(f"{EMPTY} has no versions yet")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def test_train_page_does_not_offer_a_model_without_versions(open_page, odd_registry, client):
    from .conftest import upload_frame

    import pandas as pd

    upload_frame(client, pd.DataFrame({"x": range(20), "y": ["a", "b"] * 10}), "ui-registry-states")
    page: Page = open_page()
    page.goto("/")
    nav(page, "2 · Train")
    pick(page, "Model", LISTED_AFTER)  # offered
    page.get_by_role("combobox", name="Model", exact=True).click()
    page.keyboard.type(EMPTY)
    expect(page.get_by_role("option").filter(has_text=EMPTY)).to_have_count(0)
