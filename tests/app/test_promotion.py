"""Promotion you can read and override (issue #26 item 2): every training result states the rule
and its verdict; POST /models/{name}/champion promotes or rolls back by hand, recorded with who,
when and why in the version's tags."""

from datetime import datetime, timezone

import pytest
from mlflow import MlflowClient

from .flow import train, train_ok

MODEL = "promotion-model"
RULE = "roc_auc must exceed the champion's by more than 0.000"


@pytest.fixture(scope="module")
def two_versions(client, worker, csv_bytes) -> tuple[dict, dict]:
    """Version 1, then version 2 trained on the same data (the same scores: the champion stays)."""
    ds, first = train_ok(client, csv_bytes, "promotion", MODEL)
    second = train(client, ds["id"], MODEL)
    assert second["status"] == "succeeded", second["error"]
    return first, second


def test_the_first_version_of_a_model_is_promoted_and_says_so(two_versions):
    first, _ = two_versions
    assert first["result"]["champion"] is True
    assert first["result"]["promotion"] == {"rule": RULE, "verdict": "promoted: the model had no champion"}


def test_a_version_that_does_not_beat_the_champion_by_the_rule_is_kept_with_both_scores(two_versions):
    first, second = two_versions
    auc = first["result"]["metrics"]["roc_auc"]
    assert second["result"]["champion"] is False
    assert second["result"]["promotion"] == {"rule": RULE, "verdict": f"kept: roc_auc {auc:.3f} vs champion (version 1) {auc:.3f}"}


def test_a_version_is_made_champion_by_hand_with_who_when_and_why_in_its_tags(client, stack, two_versions):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    r = client.post(f"/api/v1/models/{MODEL}/champion", json={"version": "2", "reason": "checked by hand", "by": "alice"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("model_name", "version", "previous_version", "by", "reason")} == {
        "model_name": MODEL, "version": "2", "previous_version": "1", "by": "alice", "reason": "checked by hand"
    }  # fmt: skip
    assert datetime.fromisoformat(body["at"]) >= before
    models = {m["name"]: m for m in client.get("/api/v1/models").json()}
    assert models[MODEL]["aliases"] == {"champion": "2"}
    tags = MlflowClient(stack.mlflow).get_model_version(MODEL, "2").tags
    assert (tags["champion_set_by"], tags["champion_set_reason"], tags["champion_previous"]) == ("alice", "checked by hand", "1")
    assert datetime.fromisoformat(tags["champion_set_at"]) == datetime.fromisoformat(body["at"])

    # Rolled back without a `by`: the API token did it.
    r = client.post(f"/api/v1/models/{MODEL}/champion", json={"version": "1", "reason": "roll back"})
    assert r.status_code == 200, r.text
    assert (r.json()["by"], r.json()["previous_version"]) == ("api token", "2")
    assert MlflowClient(stack.mlflow).get_model_version_by_alias(MODEL, "champion").version == "1"


def test_an_unknown_model_or_version_is_404_naming_it(client, two_versions):
    r = client.post("/api/v1/models/no-such-model/champion", json={"version": "1", "reason": "x"})
    assert r.status_code == 404 and r.json()["field"] == "name" and "'no-such-model' does not exist" in r.json()["detail"]
    r = client.post(f"/api/v1/models/{MODEL}/champion", json={"version": "99", "reason": "x"})
    assert r.status_code == 404 and r.json()["field"] == "version" and "has no version 99" in r.json()["detail"]


@pytest.mark.parametrize("body", [{"version": "1"}, {"version": "1", "reason": "  "}])
def test_a_champion_change_without_a_reason_is_422_naming_reason(client, body):
    r = client.post(f"/api/v1/models/{MODEL}/champion", json=body)
    assert r.status_code == 422 and r.json()["field"] == "reason", r.text


def test_the_rule_promotes_only_past_its_margin_and_keeps_a_champion_it_could_not_compare():
    from data_processor.promotion import Rule

    rule = Rule("roc_auc", 0.01)
    assert rule.text() == "roc_auc must exceed the champion's by more than 0.010"
    assert rule.decide({"roc_auc": 0.924}, {"roc_auc": 0.915}, "3").promote is False
    assert rule.decide({"roc_auc": 0.926}, {"roc_auc": 0.915}, "3").verdict == "promoted: roc_auc 0.926 vs champion (version 3) 0.915"
    assert rule.decide({"roc_auc": 0.7}, {"roc_auc": None}, "3").promote is True
    assert rule.decide({"roc_auc": None}, {"roc_auc": 0.9}, "3").promote is False
    kept = rule.unscorable("3", "ValueError: columns are missing: {'age'}")
    assert kept.promote is False and kept.verdict.startswith("kept: the champion (version 3) could not score the held-out rows")
