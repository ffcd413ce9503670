"""Prediction jobs: score inline records or a stored data set with one model version.

Where a 30k-row job spent its time before this module (cProfile, see the benchmark): besides
`predict_proba`, mostly re-serialising the whole input frame with `DataFrame.to_csv`. The
result file is now the uploaded CSV with two columns appended to its lines, which costs a
fraction of the scoring; files whose lines are not one row each (quoted fields, blank lines)
still go through pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from opentelemetry import trace

from pipeline_common.scoring import score
from pipeline_common.tabular import coerce, read_csv, records_frame

from .errors import PermanentError

tracer = trace.get_tracer("data_processor")

BATCH_ROWS = 50_000  # rows scored per predict_proba call: bounds the memory of a large data set
OUTPUT_COLUMNS = ("prediction", "probability")


def predict(worker, job) -> dict:
    """A prediction job's result. `worker` is the processor's `jobs.Worker` (models, store, sessions)."""
    p = job.params
    name = p.get("model_name") or worker.settings.default_model_name
    with tracer.start_as_current_span("mlflow.load_model"):
        version, model, schema = worker.models.resolve(name, p.get("model_version"))
    head = {"model_name": name, "model_version": version}
    if p.get("records") is not None:
        scores = score(model, records_frame(p["records"], schema))
        labels, probability = scores.labels().tolist(), scores.probability().tolist()
        return {**head, "predictions": [{"prediction": l, "probability": q} for l, q in zip(labels, probability)]}

    data = worker.dataset_bytes(p["dataset_id"])
    df = read_csv(data, field="dataset_id")
    missing = [c.name for c in schema if c.name not in df.columns]
    if missing:
        raise PermanentError(f"dataset_id: dataset lacks model input column '{missing[0]}'")
    X = coerce(df[[c.name for c in schema]], schema)
    with tracer.start_as_current_span("predict.score"):
        labels, probability = score_in_chunks(model, X)
    with tracer.start_as_current_span("predict.encode"):
        body = append_columns(data, labels, probability, df)
    key = f"predictions/{job.id}.csv"
    with tracer.start_as_current_span("s3.put_object"):
        worker.store.put(key, body)
    return {**head, "object_key": key, "rows": int(len(X))}


def score_in_chunks(model, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    parts = [score(model, X.iloc[i : i + BATCH_ROWS]) for i in range(0, len(X), BATCH_ROWS)]
    return np.concatenate([s.labels() for s in parts]), np.concatenate([s.probability() for s in parts])


def append_columns(data: bytes, labels: np.ndarray, probability: np.ndarray, df: pd.DataFrame) -> bytes:
    """The uploaded CSV with `prediction` and `probability` appended to every line."""
    lines = row_lines(data, len(df))
    if lines is None or set(OUTPUT_COLUMNS) & set(df.columns):
        frame = df.copy()
        frame["prediction"], frame["probability"] = labels, probability
        return frame.to_csv(index=False).encode()
    classes, which = np.unique(labels, return_inverse=True)
    cells = [b"," + csv_cell(str(label)).encode() + b"," for label in classes]
    tails = [cells[i] + b"%r" % q for i, q in zip(which.tolist(), probability.tolist())]
    return b"\n".join([lines[0] + b",prediction,probability", *map(bytes.__add__, lines[1:], tails)]) + b"\n"


def row_lines(data: bytes, rows: int) -> list[bytes] | None:
    """The header and one line per parsed row, or None when lines and rows do not match
    one to one (quoted fields may hold separators or line breaks; pandas skips blank lines)."""
    if b'"' in data:
        return None
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    if len(lines) != rows + 1:
        return None
    if b"\r" in data:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    commas = lines[0].count(b",")  # >= 1: a data set has at least two columns, so no line that passes is blank
    if commas == 0 or any(line.count(b",") != commas for line in lines):
        return None
    return lines


def csv_cell(value: str) -> str:
    if any(ch in value for ch in ',"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value
