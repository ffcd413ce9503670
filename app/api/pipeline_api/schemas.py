"""Request and response bodies (the OpenAPI schema at /docs comes from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
TEXT = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
VERSION = r"^[0-9]+$"
#: What each pattern asks for, in words: a 422 says this, never the expression.
PATTERN_WORDS = {
    NAME: "use only letters, digits, '.', '_' and '-', starting with a letter or digit (at most 200 characters)",
    TEXT: "must not contain a NUL character",
    VERSION: "must be a version number (digits only)",
}


class ColumnOut(BaseModel):
    name: str
    dtype: str


class DatasetOut(BaseModel):
    id: str
    name: str
    rows: int
    columns: list[ColumnOut]
    created_at: datetime | None = None


class TrainingJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    dataset_id: str = Field(min_length=1, max_length=32)
    target: str = Field(min_length=1, max_length=200)
    model_name: str | None = Field(None, pattern=NAME)
    optimize: bool = False
    include_feedback: bool = False


class PredictionJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model_name: str | None = Field(None, pattern=NAME)
    records: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=100_000)
    dataset_id: str | None = Field(None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.records is None) == (self.dataset_id is None):
            raise ValueError("give exactly one of 'records' or 'dataset_id'")
        return self


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model_name: str | None = Field(None, pattern=NAME)
    record: dict[str, Any] = Field(min_length=1)
    label: str = Field(min_length=1, max_length=200, pattern=TEXT)


class JobCreated(BaseModel):
    id: str
    kind: Literal["training", "prediction"]
    status: str


class JobOut(BaseModel):
    id: str
    kind: Literal["training", "prediction"]
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any] = Field(description="The job's parameters; inline `records` are replaced by `record_count`")
    result: dict[str, Any] | None
    error: str | None
    step: str | None = Field(
        None, description="The step a running job is in (e.g. `loading`, `fitting`, `scoring`); the last one it entered once finished"
    )


class FeedbackOut(BaseModel):
    id: str
    model_name: str
    label: str


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]


class PreviewOut(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]


class ModelInputOut(BaseModel):
    name: str
    type: str
    required: bool


class ModelVersionOut(BaseModel):
    version: str
    run_id: str | None
    aliases: list[str]
    metrics: dict[str, float]
    params: dict[str, str] = Field(description="The parameters its training run logged (target, dataset_id, rows, ...)")
    created_at: datetime | None
    job_id: str | None = Field(None, description="The training job that registered it: GET /jobs/{job_id} has its metrics and diagnostics")


class ModelOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    name: str
    aliases: dict[str, str]
    versions: list[ModelVersionOut]
    inputs: list[ModelInputOut]


class ChampionIn(BaseModel):
    """A hand-made promotion or roll-back: which version, why, and (optionally) who."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=20, pattern=VERSION, description="The version to make the champion")
    reason: str = Field(min_length=1, max_length=1000, pattern=TEXT, description="Why: kept in the version's tags")
    by: str | None = Field(None, min_length=1, max_length=200, pattern=TEXT, description='Who (default "api token")')

    @field_validator("reason")
    @classmethod
    def _reason_has_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why the champion changes")
        return value


class ChampionOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())
    model_name: str
    version: str
    previous_version: str | None = Field(description="The champion before this change (None: there was none)")
    by: str
    at: datetime
    reason: str
