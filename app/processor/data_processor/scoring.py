"""Prediction jobs: score inline records or a stored data set with one model version.

A data set is scored one row group at a time (at most 65,536 rows): its rows are read, typed to the
model's inputs, scored, and written out with `prediction`, `probability` and one `probability_<class>`
per class of the model appended as one row group of `predictions/<job id>.parquet`, which goes to the object store as a multipart upload while the next
group is scored. Memory holds one group and one upload part, whatever the data set's size.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from opentelemetry import trace
from threadpoolctl import threadpool_limits

from pipeline_common import contract as contracts
from pipeline_common.columnar import frame_with_object_text
from pipeline_common.scoring import score, score_classes
from pipeline_common.tabular import coerce, records_frame

from . import datasets
from .errors import PermanentError

tracer = trace.get_tracer("data_processor")

#: Appended to the data set's columns, then `probability_<class>` for each of the model's classes
#: (`output_schema`); an input column named like any of them is replaced.
OUTPUT = pa.schema([("prediction", pa.string()), ("probability", pa.float64())])
#: Row groups scored at once (one per core of a 2-core host), and read ahead of the one being written:
#: the next group is fetched while two are scored. Memory holds IN_FLIGHT groups.
SCORERS = 2
IN_FLIGHT = 3


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

    worker.enter(job, "loading")
    source = worker.source(p["dataset_id"])
    missing = [c.name for c in schema if c.name not in source.columns]
    if missing:
        raise PermanentError(f"dataset_id: dataset lacks model input column '{missing[0]}'")
    key = f"predictions/{job.id}.parquet"
    target = model_target(name, schema)
    worker.enter(job, "scoring")
    rows, agreed, labelled = score_to(worker.store.writer(key), source, model, schema, target if target in source.columns else None)
    out = {**head, "object_key": key, "rows": rows}
    if labelled:  # a labelled data set: how often the prediction is the value the data set holds
        out.update(target=target, labelled_rows=labelled, agreement=agreed / labelled)
    return out


def model_target(name: str, schema) -> str | None:
    """The column the model predicts, from its contract (pipeline_common.contract)."""
    from mlflow import MlflowClient

    contract, _ = contracts.read(MlflowClient(), name, lambda version: schema)
    return contract.target if contract else None


def agreement(truth: pd.Series, labels: np.ndarray) -> tuple[int, int]:
    """(rows whose prediction is their `truth`, rows with a truth). Numbers are compared as numbers:
    a row group without gaps reads an integer column as int64, one with gaps as float64, while the
    model's classes are the training frame's text of them."""
    known = truth.notna().to_numpy()
    if not known.any():
        return 0, 0
    truth, labels = truth[known], labels[known]
    if pd.api.types.is_numeric_dtype(truth) and not pd.api.types.is_bool_dtype(truth):
        same = pd.to_numeric(pd.Series(labels), errors="coerce").to_numpy() == truth.to_numpy(dtype=float)
    else:
        same = truth.astype(str).to_numpy() == labels
    return int(same.sum()), int(known.sum())


def output_schema(model) -> pa.Schema:
    """The columns a scored data set gets: OUTPUT, then each class's probability in `model.classes_`
    order (the order of `score`'s probabilities), so a multiclass result says how sure the model was
    of every label, not only of the one it chose."""
    classes = score_classes(model)
    return pa.schema([*OUTPUT, *((f"probability_{c}", pa.float64()) for c in classes)])


def score_to(sink, source: datasets.Source, model, schema, target: str | None = None) -> tuple[int, int, int]:
    """Write the scored data set to `sink` (an object writer) as Parquet, row group by row group:
    (rows, rows whose prediction is their `target` value, rows with a `target` value). An error
    stores nothing (the upload is aborted).

    Two row groups are scored at a time, each on one OpenMP thread: scikit-learn's tree ensembles run
    a parallel loop per tree, and with two threads each loop waits for both, which on a host whose
    cores are busy cost ten times the CPU (8.7k against 100k rows per CPU second, Adult columns).
    Row groups are read and written in order, in this thread; the store's reader is not shared.
    """
    inputs = [c.name for c in schema]
    output = output_schema(model)
    kept = [f for f in source.schema if f.name not in output.names]
    out_schema = pa.schema([*kept, *output])

    def scored(table: pa.Table, first_row: int) -> tuple[pa.Table, tuple[int, int]]:
        with tracer.start_as_current_span("predict.score"), threadpool_limits(1, user_api="openmp"):
            scores = score(model, coerce(frame_with_object_text(table.select(inputs)), schema, first_row=first_row))
        labels = scores.labels()
        columns = datasets.plain(table.select([f.name for f in kept]), source.schema).columns
        columns += [pa.array(labels, pa.string()), pa.array(scores.probability(), pa.float64())]
        columns += [pa.array(p, pa.float64()) for p in scores.class_probabilities().T]
        counted = agreement(frame_with_object_text(table.select([target]))[target], np.asarray(labels, dtype=object)) if target else (0, 0)
        return pa.Table.from_arrays(columns, schema=out_schema), counted

    rows, agreed, labelled = 0, 0, 0

    def write(done) -> None:
        nonlocal agreed, labelled
        table, (same, known) = done.result()
        writer.write_table(table)
        agreed, labelled = agreed + same, labelled + known

    with sink, pq.ParquetWriter(sink, out_schema) as writer, ThreadPoolExecutor(SCORERS, "score") as pool:
        pending: deque = deque()
        for table in source.groups(source.columns):
            pending.append(pool.submit(scored, table, rows + 1))
            rows += table.num_rows
            if len(pending) == IN_FLIGHT:
                write(pending.popleft())
        while pending:
            write(pending.popleft())
    return rows, agreed, labelled
