"""What the API needs from MLflow: model input schemas (cached per version) and the registry listing."""

from __future__ import annotations

import threading

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline_common.tabular import Column

_schemas: dict[tuple[str, str], list[Column]] = {}
_lock = threading.Lock()


class NoChampion(LookupError):
    pass


def champion_schema(name: str) -> tuple[str, list[Column]]:
    client = MlflowClient()
    try:
        mv = client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        raise NoChampion(f"model '{name}' has no champion version yet; train one first") from None
    key = (name, str(mv.version))
    with _lock:
        if key not in _schemas:
            sig = mlflow.models.get_model_info(f"models:/{name}/{mv.version}").signature
            _schemas[key] = [
                Column(c.name, c.type.name if hasattr(c.type, "name") else str(c.type), c.required)
                for c in sig.inputs.inputs
            ]
        return key[1], _schemas[key]


def list_models() -> list[dict]:
    client = MlflowClient()
    out = []
    for rm in client.search_registered_models():
        versions = []
        aliases = {}
        for alias, version in (rm.aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        for mv in client.search_model_versions(f"name='{rm.name}'"):
            metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
            versions.append(
                {
                    "version": str(mv.version),
                    "run_id": mv.run_id,
                    "aliases": aliases.get(str(mv.version), []),
                    "metrics": metrics,
                    "created_at": mv.creation_timestamp,
                }
            )
        versions.sort(key=lambda v: int(v["version"]), reverse=True)
        inputs = []
        if "champion" in (rm.aliases or {}):
            _, cols = champion_schema(rm.name)
            inputs = [{"name": c.name, "type": c.type, "required": c.required} for c in cols]
        out.append(
            {
                "name": rm.name,
                "aliases": {a: str(v) for a, v in (rm.aliases or {}).items()},
                "versions": versions,
                "inputs": inputs,
            }
        )
    return out
