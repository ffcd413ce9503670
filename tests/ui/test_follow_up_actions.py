"""Issue 26, the UI halves of items 1, 4, 10 and 12 in the browser: a training that fits no model starts
a new one, a version is made the champion with a reason, a prediction becomes feedback, a data set
is deleted, and Jobs names data sets and links each training to its page. Each keeps a screenshot."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.app.conftest import make_csv
from tests.app.flow import train, upload

from .conftest import screenshot
from .pages import DESKTOP, PHONE, pick, script_run, settled

PROMOTED = "ui-promote-twice"


def shot(page: Page, name: str) -> None:
    screenshot(page, f"follow-up--{name}")


def test_a_column_no_model_predicts_starts_a_new_model_named_after_the_data(open_page, client, form_model):
    # form_model: the registry holds a model (an empty one offers only a name, the API's default model)
    upload(client, make_csv(seed=21), "ui-fresh")
    page: Page = open_page()
    page.goto("/train")
    pick(page, "Data set", "ui-fresh ·")
    pick(page, "Column to predict (target)", "job")
    expect(page.get_by_role("combobox", name="Model", exact=True)).to_match_aria_snapshot('- combobox "Model": New model…')
    expect(page.get_by_label("New model name")).to_have_value("ui-fresh-job")
    expect(page.get_by_text("No model predicts job from these columns yet")).to_be_visible()
    shot(page, "new-model-default")


def test_a_version_is_made_the_champion_with_a_reason_from_the_models_page(open_page, client, worker):
    ds = upload(client, make_csv(seed=22), "ui-promote")
    for _ in range(2):
        assert train(client, ds["id"], PROMOTED)["status"] == "succeeded"
    champion = next(m for m in client.get("/api/v1/models").json() if m["name"] == PROMOTED)["aliases"]["champion"]
    other = "1" if champion == "2" else "2"
    page: Page = open_page()
    page.goto("/models")
    page.get_by_text(f"Make another version of {PROMOTED} the champion").click()
    settled(page)
    form = page.get_by_test_id("stExpander").filter(has_text=f"Make another version of {PROMOTED} the champion")
    form.get_by_label("Why").fill("checked by hand in the browser test")
    with script_run(page):
        form.get_by_role("button", name="Make it the champion").click()
    expect(page.get_by_text(f"Version {other} of {PROMOTED} is now the champion (it was version {champion})")).to_be_visible()
    shot(page, "champion-changed")
    models = client.get("/api/v1/models").json()
    assert next(m for m in models if m["name"] == PROMOTED)["aliases"]["champion"] == other


def test_a_prediction_is_sent_as_feedback_with_its_true_label(open_page, form_model):
    page: Page = open_page()
    page.goto("/predict")
    pick(page, "Model", form_model)
    with script_run(page):
        page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.get_by_text(re.compile(r"^Was .+ right\?"))).to_be_visible()
    with script_run(page):
        page.get_by_role("button", name="Send as feedback").click()
    expect(page.get_by_text(re.compile(r"Feedback stored: true \w+ .+ for the record you scored last"))).to_be_visible()
    shot(page, "feedback-from-prediction")


def test_a_data_set_is_deleted_once_its_box_is_ticked(open_page, client):
    ds = upload(client, make_csv(seed=23), "ui-delete-browser")
    page: Page = open_page()
    page.goto("/")
    pick(page, "Look at", "ui-delete-browser ·")
    page.get_by_text("Delete ui-delete-browser", exact=True).click()
    button = page.get_by_role("button", name="Delete data set")
    expect(button).to_be_disabled()
    with script_run(page):
        page.get_by_text("Yes, delete ui-delete-browser and its stored file").click()
    with script_run(page):
        button.click()
    expect(page.get_by_text("Deleted ui-delete-browser.")).to_be_visible()
    assert client.get(f"/api/v1/datasets/{ds['id']}").status_code == 404
    shot(page, "data-set-deleted")


def test_jobs_names_data_sets_and_links_a_training_to_its_page_on_desktop_and_phone(open_page, client, worker):
    ds = upload(client, make_csv(seed=24), "ui-jobs-link")
    job = train(client, ds["id"], "ui-jobs-link-model")
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page: Page = open_page(viewport)
        page.goto("/jobs")
        expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
        settled(page)
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        # The grid keeps its cells in the DOM (hidden): the data set by its name, never its id.
        expect(page.locator("td[role=gridcell]").filter(has_text="ui-jobs-link").first).to_be_attached()
        expect(page.locator("td[role=gridcell]").filter(has_text=ds["id"])).to_have_count(0)
        shot(page, f"jobs-{name}")
    page.goto(f"/train?train_job={job['id']}")
    expect(page.get_by_text(re.compile(r"Model ui-jobs-link-model version 1 (is now the|became the) champion"))).to_be_visible()
    expect(page.get_by_text("Which columns matter most (top 15)")).to_be_visible()
