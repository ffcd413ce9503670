"""Models: the registry listing (versions, aliases, metrics, params, inputs of the champion)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from pipeline_common.config import AppSettings

from .. import models_info
from ..dependencies import API, authorized
from ..errors import COMMON, ApiError
from ..schemas import ModelOut

router = APIRouter(prefix=API, tags=["models"], dependencies=[Depends(authorized)], responses=COMMON)


def champion_schema(settings: AppSettings, model_name: str | None):
    """(name, version, input schema) of a model's champion, or 422 naming `model_name`."""
    name = model_name or settings.default_model_name
    try:
        return (name, *models_info.champion_schema(name, settings.champion_cache_seconds))
    except models_info.NoChampion as exc:
        raise ApiError(422, "model_name", str(exc)) from None


@router.get("/models", response_model=list[ModelOut])
def list_models() -> list[dict]:
    return models_info.list_models()
