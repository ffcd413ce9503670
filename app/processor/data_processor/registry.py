"""MLflow access: one run and one version per training job, the champion alias, loading by alias.

Every step is idempotent and findable by the job id, so a job retried after its worker
died at any point resumes instead of duplicating: the run carries the `job_id` tag from
its creation, the logged model's URI is a run tag, the version is registered with the
`job_id` tag in the same call, and the promotion decision is recorded on the run before
the alias moves (so a failed job can move it back).

A registered model keeps the contract of its first version (pipeline_common.contract): it is
written with the model, in the same call that creates it, and checked before every version.
"""

from __future__ import annotations

import json
import tempfile
import threading

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import RunTag
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

from pipeline_common import contract as contracts
from pipeline_common.tabular import INPUTS_TAG, Column, DataError, columns_from_signature, columns_tag, json_safe

from .modeling import SKOPS_TRUSTED_TYPES

CHAMPION = "champion"
JOB_TAG = "job_id"
MODEL_URI_TAG = "model_uri"
MODEL_ID_TAG = "model_id"
PROMOTION_TAG = "promotion"  # "champion" | "kept"
PREVIOUS_TAG = "previous_champion"  # version the alias pointed to before ("" for none)
PREVIOUS_METRICS_TAG = "previous_champion_metrics"
RULE_TAG = "promotion_rule"  # the rule the decision applied (promotion.Rule.text)
VERDICT_TAG = "promotion_verdict"  # what it compared and concluded
METRICS = ("accuracy", "f1", "roc_auc")
DIAGNOSTICS = "diagnostics.json"  # run artifact: modeling.diagnostics of the logged model
CREATED_BY_TAG = "created_by_job"  # registered model tag: the job that created it (its roll-back may delete it)


def champion_version(client: MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def schema_of(model_uri: str) -> list[Column]:
    return columns_from_signature(mlflow.models.get_model_info(model_uri).signature, model_uri)


def job_run(client: MlflowClient, name: str, job_id: str):
    """The job's run, created (tagged with the job id) on its first attempt."""
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else _create_experiment(client, name)
    found = client.search_runs([experiment_id], f"tags.{JOB_TAG} = '{job_id}'", max_results=1, order_by=["attributes.start_time ASC"])
    if found:
        return found[0]
    return client.create_run(experiment_id, tags={JOB_TAG: job_id})


def _create_experiment(client: MlflowClient, name: str) -> str:
    try:
        return client.create_experiment(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id


def signature_for(model, X_train: pd.DataFrame) -> ModelSignature:
    """Types from a sample; "required" from the whole training set (a gap anywhere makes an input optional)."""
    sample = X_train.head(200)
    inferred = infer_signature(sample, model.predict(sample))
    gaps = X_train.isna().any()
    inputs = Schema([ColSpec(c.type, c.name, required=not bool(gaps[c.name])) for c in inferred.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def log_model(run, model, X_train: pd.DataFrame, params: dict, metrics: dict, diagnostics: dict | None = None) -> str:
    """Log params, metrics, diagnostics and the model into the job's run (once); returns the model's URI.

    The model URI tag comes last: a run that has it has everything else too.
    """
    run_id = run.info.run_id
    with mlflow.start_run(run_id=run_id):
        new_params = {k: str(v) for k, v in params.items() if k not in run.data.params}
        if new_params:
            mlflow.log_params(new_params)
        mlflow.log_metrics({k: v for k, v in json_safe(metrics).items() if v is not None})
        if diagnostics is not None:
            mlflow.log_dict(json_safe(diagnostics), DIAGNOSTICS)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature_for(model, X_train),
            input_example=X_train.head(3),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=model_requirements(),
        )
        mlflow.set_tags({MODEL_URI_TAG: info.model_uri, MODEL_ID_TAG: info.model_id or ""})
    return info.model_uri


#: What a logged model needs to load and predict wherever MLflow runs: MLflow's pyfunc loader
#: (mlflow-skinny, the distribution the processor's image installs), scikit-learn with numpy and
#: scipy, skops (MLflow saves the pipeline in its format) and pandas (pyfunc's input frames).
#: scikit-learn's own dependencies (joblib, threadpoolctl) come with it. Stated, MLflow does not
#: infer them: no subprocess that loads the model to see what it imports (seconds per training),
#: and nothing of the trainer's unrelated packages.
MODEL_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "skops")


def model_requirements() -> list[str]:
    """MODEL_PACKAGES pinned at the versions that trained the model: the processor's image installs
    app/processor/requirements.txt, so these are its pins (a test compares them)."""
    from importlib.metadata import version

    return [f"mlflow-skinny=={mlflow.__version__}", *(f"{name}=={version(name)}" for name in MODEL_PACKAGES)]


def logged_metrics(run) -> dict[str, float]:
    return {k: float(run.data.metrics.get(k, float("nan"))) for k in METRICS}


def logged_diagnostics(client: MlflowClient, run) -> dict | None:
    """The diagnostics logged with the run's model (what a retry reports); None for runs logged without."""
    run_id = run.info.run_id
    if DIAGNOSTICS not in {a.path for a in client.list_artifacts(run_id)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, DIAGNOSTICS, tmp)
        with open(path) as f:
            return json.load(f)


def job_version(client: MlflowClient, name: str, job_id: str) -> str | None:
    found = client.search_model_versions(f"name = '{name}' and tags.{JOB_TAG} = '{job_id}'")
    return str(min(int(v.version) for v in found)) if found else None


def training_contract(client: MlflowClient, name: str, target: str, X: pd.DataFrame, y: pd.Series) -> contracts.Contract:
    """The contract this training gives model `name`: a DataError (naming `target` or `dataset_id`)
    when the model exists with another one (see pipeline_common.contract)."""
    features = {c: contracts.kind_of_dtype(X[c].dtype) for c in X.columns}  # numbers float64, the rest objects (prepare)
    proposed = contracts.Contract.of(target, y.unique(), features)
    check_contract(client, name, proposed)
    return proposed


def check_contract(client: MlflowClient, name: str, proposed: contracts.Contract) -> None:
    current, inputs = contracts.read(client, name, lambda v: schema_of(f"models:/{name}/{v}"))
    if current is None:
        return
    found = contracts.problems(current, inputs, proposed.target, proposed.inputs, proposed.classes)
    if found:
        taken = lambda n: contracts.registered_model(client, n) is not None  # noqa: E731
        raise DataError(found[0][0], contracts.refusal(name, proposed.target, found, taken))


def ensure_version(client: MlflowClient, name: str, run, job_id: str, contract: contracts.Contract) -> str:
    """The job's model version, registered (with its job and input columns tags, in one call) if it is not yet.

    A new registered model is created with `contract` in its tags; an existing one (perhaps created
    by another job since this one was checked) must have a contract this training keeps."""
    version = job_version(client, name, job_id)
    if version is not None:
        return version
    try:
        client.create_registered_model(name, tags={**contract.tags(), CREATED_BY_TAG: job_id})
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        check_contract(client, name, contract)
    tags = run.data.tags
    model_id = tags.get(MODEL_ID_TAG) or None
    # The API reads the input columns with the alias when they fit in a tag; a wider model's are
    # read from its signature (the MLmodel file beside it, no size limit; cached per version).
    columns = columns_tag(schema_of(tags[MODEL_URI_TAG]))
    inputs = {INPUTS_TAG: columns} if len(columns) <= contracts.MAX_REGISTRY_TAG_VALUE else {}
    mv = client.create_model_version(
        name, tags[MODEL_URI_TAG], run_id=run.info.run_id, tags={JOB_TAG: job_id, **inputs}, model_id=model_id
    )
    _complete_contract(client, name, contract, str(mv.version))
    return str(mv.version)


def _complete_contract(client: MlflowClient, name: str, contract: contracts.Contract, version: str) -> None:
    """Name the version that holds the contract's input columns (the first), and give a model that
    has no contract yet (registered before contracts, or left empty by an older release) this one."""
    tags = client.get_registered_model(name).tags or {}
    if contracts.TARGET_TAG not in tags:
        for key, value in contract.tags().items():
            client.set_registered_model_tag(name, key, value)
    if contracts.INPUTS_VERSION_TAG not in tags:
        client.set_registered_model_tag(name, contracts.INPUTS_VERSION_TAG, version)


def tag_run(client: MlflowClient, run_id: str, version: str) -> None:
    client.set_tag(run_id, "model_version", version)


def record_promotion(
    client: MlflowClient, run_id: str, promote: bool, previous: str | None, previous_metrics, rule: str, verdict: str
) -> None:
    """Write the decision (what it replaces, the rule and the verdict) in one call, before the alias moves."""
    client.log_batch(
        run_id,
        tags=[
            RunTag(PREVIOUS_TAG, previous or ""),
            RunTag(PREVIOUS_METRICS_TAG, json.dumps(json_safe(previous_metrics))),
            RunTag(RULE_TAG, rule),
            RunTag(VERDICT_TAG, verdict),
            RunTag(PROMOTION_TAG, "champion" if promote else "kept"),
        ],
    )


def end_run(client: MlflowClient, run_id: str, status: str = "FINISHED") -> None:
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, status)


def roll_back(client: MlflowClient, name: str, job_id: str) -> list[str]:
    """Undo a failed job in the registry: move `champion` back, delete its version, end its run."""
    removed = []
    for mv in client.search_model_versions(f"name = '{name}' and tags.{JOB_TAG} = '{job_id}'"):
        current = champion_version(client, name)
        if current is not None and str(current.version) == str(mv.version):
            previous = client.get_run(mv.run_id).data.tags.get(PREVIOUS_TAG) if mv.run_id else None
            if previous:
                client.set_registered_model_alias(name, CHAMPION, previous)
            else:
                client.delete_registered_model_alias(name, CHAMPION)
        client.delete_model_version(name, mv.version)
        removed.append(str(mv.version))
    _delete_if_left_empty(client, name, job_id)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        for run in client.search_runs([experiment.experiment_id], f"tags.{JOB_TAG} = '{job_id}'"):
            end_run(client, run.info.run_id, "FAILED")
    return removed


def _delete_if_left_empty(client: MlflowClient, name: str, job_id: str) -> None:
    """Delete the registered model this job created if it has no version: a failed first training
    leaves no empty model behind (nor its contract). Another job's model is never deleted."""
    rm = contracts.registered_model(client, name)
    if rm is None:
        return
    if (rm.tags or {}).get(CREATED_BY_TAG) == job_id and not client.search_model_versions(f"name = '{name}'"):
        client.delete_registered_model(name)


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
