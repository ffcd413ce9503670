"""Models: the registry listing (versions, aliases, metrics, params, inputs of the champion)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from pipeline_common import contract as contracts
from pipeline_common.config import AppSettings

from .. import models_info, registry_listing
from ..dependencies import API, authorized
from ..errors import COMMON, NOT_FOUND, ApiError, doc
from ..schemas import ChampionIn, ChampionOut, ModelOut

#: OpenAPI `responses=` of a training job's refusal by the model's contract.
CONTRACT = {
    409: doc(
        "The model exists with another target, other classes or other input columns (its first version fixed them): "
        "`field` is `target` or `dataset_id`; the reason suggests a new model name"
    )
}

router = APIRouter(prefix=API, tags=["models"], dependencies=[Depends(authorized)], responses=COMMON)


def champion_schema(settings: AppSettings, model_name: str | None):
    """(name, version, input schema) of a model's champion, or 422 naming `model_name`."""
    name = model_name or settings.default_model_name
    try:
        return (name, *models_info.champion_schema(name, settings.champion_cache_seconds))
    except models_info.NoChampion as exc:
        raise ApiError(422, "model_name", str(exc)) from None


def check_training_contract(name: str, dataset, target: str) -> None:
    """409 naming `target` or `dataset_id` when training `dataset`'s `target` into model `name` would
    break the model's contract (pipeline_common.contract); a new model name is suggested."""
    current, inputs = models_info.contract(name)
    if current is None:
        return
    features = {c["name"]: contracts.kind_of_dtype(c["dtype"]) for c in dataset.columns if c["name"] != target}
    found = contracts.problems(current, inputs, target, features)
    if found:
        raise ApiError(409, found[0][0], contracts.refusal(name, target, found, models_info.model_exists))


@router.get("/models", response_model=list[ModelOut])
def list_models() -> list[dict]:
    return registry_listing.list_models()


@router.post("/models/{name}/champion", response_model=ChampionOut, responses=NOT_FOUND)
def set_champion(name: str, body: ChampionIn) -> dict:
    """Promote or roll back by hand: `version` becomes the champion, whatever its metrics; who
    (`by`, else "api token"), when and why are kept in the version's tags."""
    try:
        return models_info.set_champion(name, body.version, body.reason.strip(), body.by or "api token")
    except models_info.UnknownModel as exc:
        raise ApiError(404, exc.field, str(exc)) from None
