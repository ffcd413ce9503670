"""Where a model comes from: its champion version, the data set it was trained on and its target."""

from __future__ import annotations


def champion(model: dict) -> dict | None:
    version = (model.get("aliases") or {}).get("champion")
    return next((v for v in model["versions"] if v["version"] == version), None)


def with_champion(models: list[dict]) -> list[dict]:
    return [m for m in models if champion(m) is not None]


def training_source(model: dict, datasets: list[dict]) -> tuple[dict | None, str | None]:
    """(data set, target) of the champion: from its logged params, else the newest data set that has
    every model input plus exactly one more column (the target, which a signature never lists)."""
    version = champion(model) or {}
    params = version.get("params") or {}
    by_id = {d["id"]: d for d in datasets}
    if params.get("dataset_id") in by_id and params.get("target"):
        return by_id[params["dataset_id"]], params["target"]
    inputs = {c["name"] for c in model.get("inputs") or []}
    for ds in datasets:  # newest first
        extra = [c["name"] for c in ds["columns"] if c["name"] not in inputs]
        if inputs and inputs <= {c["name"] for c in ds["columns"]} and len(extra) == 1:
            return ds, extra[0]
    return None, params.get("target")
