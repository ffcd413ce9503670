"""GET /models: the whole registry in a number of MLflow calls that does not grow with its versions.

One model or version at a time cost a registry round trip per version (`get_run` for its params and
metrics): a test session's registry plus 41 models (40 of two versions) took 7 s, and every UI page
that lists models paid it on each rerun (docs/design.md has the figures). The listing reads every page of models, every page of versions, and the runs it has not seen
in batches; a finished run never changes, so its params and metrics are kept (the newest
`RUN_CACHE_SIZE` of them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime, timezone

from mlflow import MlflowClient
from mlflow.entities import ViewType

from pipeline_api.models_info import input_columns, remember_tagged_columns

#: The version tag naming the training job that registered it (data_processor/registry.py).
JOB_TAG = "job_id"
#: Finished runs whose params and metrics are kept; a listing beyond that reads the rest again.
RUN_CACHE_SIZE = 20_000
#: Run ids per search: MLflow's SQL store puts them in one IN (...) clause.
RUNS_PER_SEARCH = 100
#: MLflow's own maximum page sizes (mlflow/store/model_registry/__init__.py at 3.17.2).
MODELS_PER_PAGE, VERSIONS_PER_PAGE = 1000, 10_000
_FINAL = {"FINISHED", "FAILED", "KILLED"}

_runs: OrderedDict[str, tuple[dict, dict]] = OrderedDict()  # run id -> (metrics, params)
_lock = threading.Lock()


def every_page(search: Callable, **kw) -> Iterator:
    """All results of an MLflow search, page after page (one page holds at most `max_results`)."""
    token = None
    while True:
        page = search(page_token=token, **kw)
        yield from page
        token = page.token
        if not token:
            return


def run_data(client: MlflowClient, run_ids: set[str]) -> dict[str, tuple[dict, dict]]:
    """(metrics, params) of each run that still exists, from the cache or in batched searches."""
    with _lock:
        found = {rid: _runs[rid] for rid in run_ids if rid in _runs}
    missing = sorted(run_ids - found.keys())
    if not missing:
        return found
    experiments = [e.experiment_id for e in every_page(client.search_experiments, view_type=ViewType.ALL)]
    for start in range(0, len(missing), RUNS_PER_SEARCH):
        batch = missing[start : start + RUNS_PER_SEARCH]
        quoted = ", ".join(f"'{rid}'" for rid in batch)
        runs = every_page(
            client.search_runs, experiment_ids=experiments, filter_string=f"attributes.run_id IN ({quoted})",
            run_view_type=ViewType.ALL, max_results=RUNS_PER_SEARCH,
        )  # fmt: skip
        for run in runs:
            data = (dict(run.data.metrics), dict(run.data.params))
            found[run.info.run_id] = data
            if run.info.status in _FINAL:
                with _lock:
                    _runs[run.info.run_id] = data
                    _runs.move_to_end(run.info.run_id)
                    while len(_runs) > RUN_CACHE_SIZE:
                        _runs.popitem(last=False)
    return found


def list_models() -> list[dict]:
    client = MlflowClient()
    models = list(every_page(client.search_registered_models, max_results=MODELS_PER_PAGE))
    versions_of: dict[str, list] = {m.name: [] for m in models}
    for mv in every_page(client.search_model_versions, max_results=VERSIONS_PER_PAGE):
        if mv.name in versions_of:  # a model registered after the models were read waits for the next listing
            versions_of[mv.name].append(mv)
    runs = run_data(client, {mv.run_id for versions in versions_of.values() for mv in versions if mv.run_id})
    return [describe(rm, versions_of[rm.name], runs) for rm in models]


def describe(rm, versions: list, runs: dict[str, tuple[dict, dict]]) -> dict:
    aliases_of: dict[str, list[str]] = {}
    for alias, version in (rm.aliases or {}).items():
        aliases_of.setdefault(str(version), []).append(alias)
    listed = []
    for mv in versions:
        remember_tagged_columns(rm.name, mv)
        metrics, params = runs.get(mv.run_id, ({}, {})) if mv.run_id else ({}, {})
        created = mv.creation_timestamp
        listed.append(
            {
                "version": str(mv.version),
                "run_id": mv.run_id,
                "aliases": aliases_of.get(str(mv.version), []),
                "metrics": metrics,
                "params": params,
                "created_at": datetime.fromtimestamp(created / 1000, timezone.utc) if created else None,
                "job_id": (mv.tags or {}).get(JOB_TAG),
            }
        )
    listed.sort(key=lambda v: int(v["version"]), reverse=True)
    champion = (rm.aliases or {}).get("champion")
    return {
        "name": rm.name,
        "aliases": {a: str(v) for a, v in (rm.aliases or {}).items()},
        "versions": listed,
        "inputs": [asdict(c) for c in input_columns(rm.name, str(champion))] if champion is not None else [],
    }
