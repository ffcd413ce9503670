"""What the API needs from MLflow: model input schemas (cached per version), contracts and champions.
The registry listing is registry_listing.py."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline_common import contract as contracts
from pipeline_common.tabular import INPUTS_TAG, Column, columns_from_signature, columns_from_tag

_schemas: dict[tuple[str, str], list[Column]] = {}
_champions: dict[str, tuple[str, float]] = {}  # name -> (version, resolved at)
_lock = threading.Lock()


class NoChampion(LookupError):
    pass


#: Registry answers that mean "no such model or alias"; any other failure is the registry's (503).
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


def champion_schema(name: str, max_age: float = 0.0) -> tuple[str, list[Column]]:
    """(version, input columns) of `name`'s champion.

    The alias is trusted for `max_age` seconds (a promotion shows up that much later;
    the job records the version it was validated against). A model without a champion
    is never cached, so the first prediction after training works at once.
    """
    now = time.monotonic()
    with _lock:
        cached = _champions.get(name)
    if cached and now - cached[1] < max_age:
        version = cached[0]
    else:
        try:
            mv = MlflowClient().get_model_version_by_alias(name, "champion")
        except MlflowException as exc:
            if exc.error_code not in NOT_FOUND_CODES:
                raise
            raise NoChampion(f"model '{name}' has no champion version yet; train one first") from None
        version = str(mv.version)
        with _lock:
            _champions[name] = (version, now)
        remember_tagged_columns(name, mv)
    return version, input_columns(name, version)


def remember_tagged_columns(name: str, mv) -> None:
    """Cache the input columns a registry answer carries in its tag, if it does."""
    key = (name, str(mv.version))
    with _lock:
        if key not in _schemas and (tagged := columns_from_tag((mv.tags or {}).get(INPUTS_TAG))):
            _schemas[key] = tagged


def input_columns(name: str, version: str) -> list[Column]:
    """A model version's input columns; a version never changes, so they are cached for good.
    Versions the processor registered carry them in a tag (read with the alias above); others,
    registered outside the platform, are read from the model's signature."""
    key = (name, version)
    with _lock:
        if key not in _schemas:
            uri = f"models:/{name}/{version}"
            _schemas[key] = columns_from_signature(mlflow.models.get_model_info(uri).signature, uri)
        return _schemas[key]


def contract(name: str) -> tuple[contracts.Contract | None, dict[str, str] | None]:
    """(contract, input column kinds) of registered model `name`; (None, None) for a new model."""
    return contracts.read(MlflowClient(), name, lambda version: input_columns(name, version))


def model_exists(name: str) -> bool:
    try:
        MlflowClient().get_registered_model(name)
        return True
    except MlflowException as exc:
        if exc.error_code not in NOT_FOUND_CODES:
            raise
        return False


#: Version tags of a hand-made champion change (the latest one that made this version the champion).
CHAMPION_BY_TAG, CHAMPION_AT_TAG, CHAMPION_REASON_TAG, CHAMPION_PREVIOUS_TAG = (
    "champion_set_by",
    "champion_set_at",
    "champion_set_reason",
    "champion_previous",
)


class UnknownModel(LookupError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


def set_champion(name: str, version: str, reason: str, by: str) -> dict:
    """Make `version` the champion by hand; who, when, why and what it replaced are written to the
    version's tags before the alias moves. UnknownModel for a model or version that does not exist."""
    client = MlflowClient()
    try:
        rm = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code not in NOT_FOUND_CODES:
            raise
        raise UnknownModel("name", f"model '{name}' does not exist") from None
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        if exc.error_code not in NOT_FOUND_CODES:
            raise
        raise UnknownModel("version", f"model '{name}' has no version {version}") from None
    previous = (rm.aliases or {}).get("champion")
    at = datetime.now(timezone.utc).replace(microsecond=0)
    record = {CHAMPION_BY_TAG: by, CHAMPION_AT_TAG: at.isoformat(), CHAMPION_REASON_TAG: reason, CHAMPION_PREVIOUS_TAG: str(previous or "")}
    for key, value in record.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, "champion", version)
    with _lock:
        _champions.pop(name, None)  # this process sees the change at once; others within their cache time
    previous = str(previous) if previous is not None else None
    return {"model_name": name, "version": version, "previous_version": previous, "by": by, "at": at, "reason": reason}


def registry_reachable() -> None:
    """A cheap call through MLflow's store (its /health answers even while the store is down)."""
    MlflowClient().search_registered_models(max_results=1)
