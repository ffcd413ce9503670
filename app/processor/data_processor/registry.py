"""MLflow access: logging and registering models, moving the champion alias, loading by alias."""

from __future__ import annotations

import threading

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from pipeline_common.tabular import Column, columns_from_signature

from .faults import fault_point
from .modeling import SKOPS_TRUSTED_TYPES

CHAMPION = "champion"


def champion_version(client: MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def schema_of(model_uri: str) -> list[Column]:
    return columns_from_signature(mlflow.models.get_model_info(model_uri).signature, model_uri)


def log_and_register(model, X_train: pd.DataFrame, name: str, job_id: str, params: dict, metrics: dict) -> tuple[str, str]:
    """Log one run and register it as a new version. A job logs at most one version (retries reuse it)."""
    client = MlflowClient()
    experiment = mlflow.set_experiment(name)
    previous = client.search_runs(
        [experiment.experiment_id], f"tags.job_id = '{job_id}' and tags.model_version != ''", max_results=1
    )
    if previous:
        run = previous[0]
        return run.info.run_id, run.data.tags["model_version"]
    with mlflow.start_run(experiment_id=experiment.experiment_id, tags={"job_id": job_id}) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics({k: v for k, v in metrics.items() if v == v})
        fault_point("logged", job_id)
        example = X_train.head(3)
        signature = infer_signature(X_train.head(200), model.predict(X_train.head(200)))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            registered_model_name=name,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        version = str(info.registered_model_version)
        fault_point("registered", job_id)
        client.set_model_version_tag(name, version, "job_id", job_id)
        mlflow.set_tag("model_version", version)
        fault_point("tagged", job_id)
        return run.info.run_id, version


class ModelCache:
    """Loaded models per (name, version): the alias is resolved on each job, the model loaded once."""

    def __init__(self):
        self._models: dict[tuple[str, str], tuple[object, list[Column]]] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str, version: str | None = None) -> tuple[str, object, list[Column]]:
        client = MlflowClient()
        if version is None:
            mv = champion_version(client, name)
            if mv is None:
                raise LookupError(f"model '{name}' has no champion version yet; train one first")
            version = str(mv.version)
        key = (name, version)
        with self._lock:
            if key not in self._models:
                uri = f"models:/{name}/{version}"
                model = mlflow.sklearn.load_model(uri)
                self._models[key] = (model, schema_of(uri))
            model, schema = self._models[key]
        return version, model, schema
