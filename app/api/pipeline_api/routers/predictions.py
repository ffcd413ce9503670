"""`POST /api/v1/predictions`: synchronous scoring of a few records by a model's champion,
in the API process. Data sets and large batches stay with prediction jobs."""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from opentelemetry import trace
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from pipeline_common.config import AppSettings
from pipeline_common.scoring import score
from pipeline_common.tabular import records_frame

from pipeline_common.unavailable import Unavailable

from ..errors import COMMON, ApiError, doc
from ..online import ChampionHolder, NoChampion, RegistryUnavailable
from ..schemas import NAME

tracer = trace.get_tracer("pipeline_api")

PREDICTION_SECONDS = Histogram(
    "api_prediction_duration_seconds",
    "Online prediction time in the API (validation, scoring, encoding), per model",
    ["model"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PREDICTED_RECORDS = Counter("api_predicted_records_total", "Records scored online", ["model", "version"])

DEFAULT_LIMIT = 1000


class OnlinePredictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model_name: str | None = Field(None, pattern=NAME, description="default: the service's default model")
    records: list[dict[str, Any]] = Field(min_length=1, description="1..ONLINE_PREDICTION_LIMIT records")


class OnlinePrediction(BaseModel):
    prediction: str
    probability: float = Field(description="probability of the predicted class")
    probabilities: dict[str, float] = Field(description="probability of every class")


class OnlinePredictionOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model_name: str
    model_version: str
    predictions: list[OnlinePrediction]


def online_limit() -> int:
    raw = os.environ.get("ONLINE_PREDICTION_LIMIT", str(DEFAULT_LIMIT))
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"invalid environment: ONLINE_PREDICTION_LIMIT: expected a positive integer, got {raw!r}")
    return int(raw)


def router(settings: AppSettings) -> APIRouter:
    limit = online_limit()
    models = ChampionHolder(max_age=settings.champion_cache_seconds)
    api = APIRouter(prefix="/api/v1", tags=["predictions"])

    @api.post(
        "/predictions",
        response_model=OnlinePredictionOut,
        summary="Score records with the model's champion, synchronously",
        responses={
            **COMMON,
            413: doc(f"More records than ONLINE_PREDICTION_LIMIT (default {DEFAULT_LIMIT}): use POST /api/v1/prediction-jobs"),
        },
    )
    def predict(body: OnlinePredictionIn):
        if len(body.records) > limit:
            raise ApiError(
                413, "records",
                f"{len(body.records)} records is more than the online limit of {limit}; "
                "submit them as a prediction job with POST /api/v1/prediction-jobs",
            )  # fmt: skip
        name = body.model_name or settings.default_model_name
        started = time.perf_counter()
        with tracer.start_as_current_span("online.predict") as span:
            try:
                loaded = models.get(name)
            except NoChampion as exc:
                raise ApiError(422, "model_name", str(exc)) from None
            except RegistryUnavailable as exc:
                raise Unavailable("model registry", exc) from exc
            span.set_attribute("model.name", name)
            span.set_attribute("model.version", loaded.version)
            span.set_attribute("records.count", len(body.records))
            X = records_frame(body.records, loaded.schema)  # DataError -> 422 naming the field
            predictions = score(loaded.model, X).records()
        PREDICTION_SECONDS.labels(name).observe(time.perf_counter() - started)
        PREDICTED_RECORDS.labels(name, loaded.version).inc(len(predictions))
        # Built as plain JSON: re-validating our own output would cost more than the scoring.
        return JSONResponse({"model_name": name, "model_version": loaded.version, "predictions": predictions})

    return api
