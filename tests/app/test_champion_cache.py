"""The API trusts a resolved champion alias for a few seconds, and never caches its absence; it
reads a version's input columns from the version's tag, and from the model's signature without one."""

from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST
from mlflow.models import infer_signature
from mlflow.store.entities.paged_list import PagedList
from pipeline_api import models_info, registry_listing

from pipeline_common.tabular import INPUTS_TAG, Column, columns_tag

SIGNATURE = infer_signature(pd.DataFrame({"age": [30.0], "job": ["clerk"]}), pd.Series(["yes"]))


@pytest.fixture
def registry(monkeypatch):
    """A fake registry: `champion` maps model name -> version; `lookups` counts alias calls."""
    state = SimpleNamespace(champion={}, tags={}, lookups=0, downloads=0)

    class FakeClient:
        def get_model_version_by_alias(self, name, alias):
            state.lookups += 1
            if name not in state.champion:
                raise MlflowException(f"no alias {alias}", error_code=RESOURCE_DOES_NOT_EXIST)  # what MLflow answers
            return SimpleNamespace(version=state.champion[name], tags=state.tags.get(name, {}))

        def search_registered_models(self, max_results, page_token=None):
            return PagedList([SimpleNamespace(name=n, aliases={"champion": v}) for n, v in state.champion.items()], None)

        def search_model_versions(self, max_results, page_token=None):
            return PagedList(
                [SimpleNamespace(name=n, version=v, run_id=None, creation_timestamp=None, tags=state.tags.get(n, {})) for n, v in state.champion.items()],
                None,
            )

    def get_model_info(uri):
        state.downloads += 1
        return SimpleNamespace(signature=SIGNATURE)

    monkeypatch.setattr(models_info, "MlflowClient", FakeClient)
    monkeypatch.setattr(registry_listing, "MlflowClient", FakeClient)
    monkeypatch.setattr(models_info.mlflow.models, "get_model_info", get_model_info)
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


def test_input_columns_come_from_the_versions_tag_without_downloading_the_model(registry):
    registry.champion["m"] = "1"
    registry.tags["m"] = {INPUTS_TAG: columns_tag([Column("age", "double", False), Column("job", "string")])}
    _, columns = models_info.champion_schema("m")
    assert columns == [Column("age", "double", False), Column("job", "string", True)]
    assert registry.downloads == 0


def test_the_model_listing_reads_the_champions_inputs_from_its_tag(registry):
    registry.champion["m"] = "1"
    registry.tags["m"] = {INPUTS_TAG: columns_tag([Column("age", "double", False)])}
    (model,) = registry_listing.list_models()
    assert model["inputs"] == [{"name": "age", "type": "double", "required": False}]
    assert registry.downloads == 0


def test_a_version_without_the_tag_is_read_from_its_signature(registry):
    registry.champion["m"] = "1"  # registered outside the platform
    _, columns = models_info.champion_schema("m")
    assert [c.name for c in columns] == ["age", "job"] and registry.downloads == 1


@pytest.mark.parametrize("value", ["not json", '[{"name": "age"}]', '{"age": "double"}', "[]"])
def test_an_unreadable_tag_falls_back_to_the_signature(registry, value):
    registry.champion["m"] = "1"
    registry.tags["m"] = {INPUTS_TAG: value}  # edited by hand in the MLflow UI, say
    _, columns = models_info.champion_schema("m")
    assert [c.name for c in columns] == ["age", "job"] and registry.downloads == 1
