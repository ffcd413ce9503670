"""The API trusts a resolved champion alias for a few seconds, and never caches its absence."""

from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST
from mlflow.models import infer_signature
from pipeline_api import models_info

SIGNATURE = infer_signature(pd.DataFrame({"age": [30.0], "job": ["clerk"]}), pd.Series(["yes"]))


@pytest.fixture
def registry(monkeypatch):
    """A fake registry: `champion` maps model name -> version; `lookups` counts alias calls."""
    state = SimpleNamespace(champion={}, lookups=0)

    class FakeClient:
        def get_model_version_by_alias(self, name, alias):
            state.lookups += 1
            if name not in state.champion:
                raise MlflowException(f"no alias {alias}", error_code=RESOURCE_DOES_NOT_EXIST)  # what MLflow answers
            return SimpleNamespace(version=state.champion[name])

    monkeypatch.setattr(models_info, "MlflowClient", FakeClient)
    monkeypatch.setattr(models_info.mlflow.models, "get_model_info", lambda uri: SimpleNamespace(signature=SIGNATURE))
    monkeypatch.setattr(models_info, "_champions", {})
    monkeypatch.setattr(models_info, "_schemas", {})
    return state


def test_champion_alias_is_reused_within_max_age(registry):
    registry.champion["m"] = "1"
    models_info.champion_schema("m", max_age=60)
    registry.champion["m"] = "2"
    version, columns = models_info.champion_schema("m", max_age=60)
    assert (version, registry.lookups) == ("1", 1)
    assert [c.name for c in columns] == ["age", "job"]


def test_promotion_is_seen_once_max_age_has_passed(registry):
    registry.champion["m"] = "1"
    models_info.champion_schema("m", max_age=0)
    registry.champion["m"] = "2"
    assert models_info.champion_schema("m", max_age=0)[0] == "2"


def test_a_model_without_champion_is_looked_up_again_on_the_next_request(registry):
    with pytest.raises(models_info.NoChampion, match="model 'm' has no champion"):
        models_info.champion_schema("m", max_age=60)
    registry.champion["m"] = "1"
    assert models_info.champion_schema("m", max_age=60)[0] == "1"
