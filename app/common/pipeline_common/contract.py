"""A registered model's contract: the target it predicts, its task and classes, and its input
columns with their kinds, fixed by its first version.

Every version of a model answers the same question from the same inputs, so versions can be
compared on the same held-out rows and a champion is never replaced by a model of another
target. The API refuses a training job that breaks the contract before it runs (409); the
worker checks again against the registry (a model created meanwhile) and fails the job with
the same message.

The contract lives in the registered model's tags. The input columns are in a tag only when
they fit MLflow's limit for a registry tag value; otherwise the tag names the version whose
input columns (its signature) they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

#: MLflow's limit for a model registry tag value: MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH = 100_000
#: in mlflow/utils/validation.py at v3.17.2 (run tags have a lower one, MAX_TAG_VAL_LENGTH = 8000).
MAX_REGISTRY_TAG_VALUE = 100_000

TARGET_TAG = "contract.target"
TASK_TAG = "contract.task"  # "binary" | "multiclass"
CLASSES_TAG = "contract.classes"  # JSON list of class labels, or absent when it does not fit
CLASS_COUNT_TAG = "contract.class_count"
INPUTS_TAG = "contract.inputs"  # JSON {column: kind}, or absent when it does not fit
INPUTS_VERSION_TAG = "contract.inputs_version"  # the version whose input columns are the contract's

_NUMERIC_TYPES = {"double", "float", "long", "integer"}
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def kind_of_type(mlflow_type: str) -> str:
    """An MLflow column type as the contract compares it: the processor trains numbers as numbers
    and everything else (text, booleans) as categories."""
    return "number" if mlflow_type in _NUMERIC_TYPES else "category"


def kind_of_dtype(dtype: str) -> str:
    """A pandas dtype (as data sets record it) as the contract compares it; see `kind_of_type`."""
    d = str(dtype).lower()
    return "number" if d.startswith(("int", "uint", "float")) else "category"


def task_of(classes: list[str]) -> str:
    return "binary" if len(classes) == 2 else "multiclass"


@dataclass(frozen=True)
class Contract:
    target: str
    task: str | None  # None for a model registered before contracts (its classes are unknown)
    classes: tuple[str, ...] | None  # None when unknown or too many for a tag (class_count holds)
    class_count: int | None
    inputs: dict[str, str] | None  # column -> kind; None when they are in a version's signature
    inputs_version: str | None

    @classmethod
    def of(cls, target: str, classes, inputs: dict[str, str], version: str | None = None) -> "Contract":
        labels = tuple(sorted(str(c) for c in classes))
        return cls(target, task_of(list(labels)), labels, len(labels), dict(inputs), version)

    def tags(self) -> dict[str, str]:
        out = {TARGET_TAG: self.target}
        if self.inputs_version is not None:
            out[INPUTS_VERSION_TAG] = str(self.inputs_version)
        if self.task:
            out[TASK_TAG] = self.task
        if self.class_count is not None:
            out[CLASS_COUNT_TAG] = str(self.class_count)
        classes = json.dumps(list(self.classes)) if self.classes is not None else None
        if classes is not None and len(classes) <= MAX_REGISTRY_TAG_VALUE:
            out[CLASSES_TAG] = classes
        inputs = json.dumps(self.inputs) if self.inputs is not None else None
        if inputs is not None and len(inputs) <= MAX_REGISTRY_TAG_VALUE:
            out[INPUTS_TAG] = inputs
        return out


def from_tags(tags: dict[str, str] | None) -> Contract | None:
    """The contract written by `Contract.tags`, or None when the model has none."""
    tags = tags or {}
    if TARGET_TAG not in tags:
        return None
    try:
        classes = tuple(json.loads(tags[CLASSES_TAG])) if CLASSES_TAG in tags else None
        inputs = json.loads(tags[INPUTS_TAG]) if INPUTS_TAG in tags else None
        count = int(tags[CLASS_COUNT_TAG]) if CLASS_COUNT_TAG in tags else None
    except (ValueError, TypeError):  # edited by hand: keep what can be read
        classes, inputs, count = None, None, None
    return Contract(tags[TARGET_TAG], tags.get(TASK_TAG), classes, count, inputs, tags.get(INPUTS_VERSION_TAG))


#: MLflow's error codes for a registered model or version that does not exist.
ABSENT = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


def registered_model(client, name: str):
    """Registered model `name`, or None when it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code in ABSENT:
            return None
        raise


def read(client, name: str, columns_of) -> tuple[Contract | None, dict[str, str] | None]:
    """(contract, its input kinds) of registered model `name`, or (None, None) when it does not
    exist or has no version yet. `columns_of(version)` gives a version's input columns (Column
    objects) when the contract's are not in a tag. A model registered before contracts existed
    gets one read from its champion (or newest version): the target its run logged, its inputs."""
    from mlflow.exceptions import MlflowException

    rm = registered_model(client, name)
    if rm is None:
        return None, None
    contract = from_tags(rm.tags)
    if contract is None:
        contract = _legacy(client, rm)
        if contract is None:
            return None, None
    inputs = contract.inputs
    if inputs is None and contract.inputs_version:
        try:
            inputs = {c.name: kind_of_type(c.type) for c in columns_of(contract.inputs_version)}
        except MlflowException as exc:  # that version was deleted by hand: the inputs go unchecked
            if exc.error_code not in ABSENT:
                raise
    return contract, inputs


def _legacy(client, rm) -> Contract | None:
    version = (rm.aliases or {}).get("champion")
    if version is None:
        versions = client.search_model_versions(f"name = '{rm.name}'")
        if not versions:
            return None
        version = max(int(v.version) for v in versions)
    mv = client.get_model_version(rm.name, str(version))
    target = client.get_run(mv.run_id).data.params.get("target") if mv.run_id else None
    if not target:
        return None
    return Contract(target, None, None, None, None, str(version))


def problems(
    contract: Contract, inputs: dict[str, str] | None, target: str, features: dict[str, str], classes=None
) -> list[tuple[str, str]]:
    """What a training job (its `target`, its feature columns -> kind, and, once the data is read,
    its classes) would change in the contract: (field, reason) pairs, empty when it keeps it."""
    if target != contract.target:
        return [("target", f"this model predicts '{contract.target}', not '{target}'")]
    found = []
    if inputs is not None:
        missing = [c for c in inputs if c not in features]
        extra = [c for c in features if c not in inputs]
        changed = [c for c in inputs if c in features and features[c] != inputs[c]]
        parts = []
        if missing:
            parts.append(f"lacks the model's input column{_s(missing)} {_names(missing)}")
        if extra:
            parts.append(f"has column{_s(extra)} the model does not take: {_names(extra)}")
        if changed:
            parts.append(
                "changes the kind of " + ", ".join(f"'{c}' ({inputs[c]} in the model, {features[c]} here)" for c in changed[:5])
            )
        if parts:
            found.append(("dataset_id", "the data set " + "; ".join(parts)))
    if classes is not None:
        labels = sorted(str(c) for c in classes)
        if contract.classes is not None and tuple(labels) != tuple(contract.classes):
            found.append(("target", f"'{target}' has the classes {_names(labels)}; this model predicts {_names(list(contract.classes))}"))
        elif contract.classes is None and contract.class_count is not None and len(labels) != contract.class_count:
            found.append(("target", f"'{target}' has {len(labels)} classes; this model predicts {contract.class_count}"))
    return found


def refusal(name: str, target: str, found: list[tuple[str, str]], taken=lambda _: False) -> str:
    """The one message the API (409) and the worker (failed job) give for a broken contract."""
    reasons = "; ".join(reason for _, reason in found)
    return (
        f"model '{name}' cannot take this training: {reasons}. A model keeps the target and inputs of its first "
        f"version; train into a new model instead, e.g. '{suggest_name(name, target, taken)}'"
    )


def suggest_name(name: str, target: str, taken=lambda _: False) -> str:
    """A valid model name (the API's NAME pattern) for the same data under a new model; `taken(n)`
    says whether a name is in use."""
    base = f"{name}-{_NAME_CHARS.sub('-', target).strip('-._') or 'model'}"[:190]
    candidate, n = base, 2
    while taken(candidate) and n < 100:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _s(items: list) -> str:
    return "s" if len(items) > 1 else ""


def _names(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{c}'" for c in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
