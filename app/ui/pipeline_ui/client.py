"""A small API client whose errors are sentences for people, never tracebacks or API paths."""

from __future__ import annotations

import os
import re
import time

import httpx

#: `records[0].age`, `record.age`, `body.records.0.age` -> `age` (the column a person knows).
_COLUMN_PATH = re.compile(r"^(?:body\.)?(?:records?)(?:\[\d+\]|\.\d+)?\.(?P<column>.+)$")


FINISHED = ("succeeded", "failed")


class ApiError(Exception):
    """An API call that failed; `str()` is a message to show as is."""

    def __init__(self, message: str, status: int | None = None, problems: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.problems = problems or []


#: The API's request fields as the pages label them (a refusal names what the person filled in).
FIELD_LABELS = {
    "dataset_id": "Data set",
    "model_name": "Model",
    "target": "Column to predict",
    "file": "File",
    "name": "Name",
    "version": "Version",
    "reason": "Reason",
    "label": "True label",
}


def field_name(field: str | None) -> str | None:
    """A record's column by its name; a request field by the label its page gives it."""
    if not field:
        return None
    found = _COLUMN_PATH.match(field)
    if found:
        return found["column"]
    field = field.removeprefix("body.")
    return FIELD_LABELS.get(field, field)


def _problems(body: dict) -> list[dict]:
    """[{field, reason}] from an ErrorOut body, FastAPI's validation list or a plain `field: reason` detail."""
    if isinstance(body.get("errors"), list) and body["errors"]:
        return [{"field": e.get("field"), "reason": str(e.get("reason", ""))} for e in body["errors"]]
    detail = body.get("detail")
    if isinstance(detail, list):  # FastAPI's own request validation
        return [{"field": ".".join(str(p) for p in d.get("loc", [])[1:]), "reason": d.get("msg", "")} for d in detail]
    if isinstance(detail, str) and body.get("field") and detail.startswith(f"{body['field']}: "):
        return [{"field": body["field"], "reason": detail.removeprefix(f"{body['field']}: ")}]
    return []


def plain_words(problems: list[dict]) -> str:
    """Sentences naming every offending column; columns that are all missing become one sentence."""
    missing = [field_name(p["field"]) for p in problems if p["reason"].strip() in ("is missing", "column is missing")]
    sentences = []
    if missing:
        noun = "column is" if len(missing) == 1 else f"{len(missing)} columns are"
        sentences.append(f"The {noun} missing: {', '.join(missing)}.")
    for p in problems:
        if p["reason"].strip() in ("is missing", "column is missing"):
            continue
        name = field_name(p["field"])
        reason = p["reason"].rstrip(".")
        sentences.append(f"{name}: {reason}." if name else f"{reason[:1].upper()}{reason[1:]}.")
    return " ".join(sentences)


def message(status: int, body: dict | None, text: str = "") -> str:
    body = body or {}
    problems = _problems(body)
    if problems:
        return plain_words(problems)
    detail = body.get("detail") if isinstance(body.get("detail"), str) else text[:200]
    if status == 401:
        return f"The UI's access to the API was refused ({detail}). Ask an administrator to check its API token."
    if status == 404 and detail == "Not Found":
        return "The API does not offer this function (it may be an older version)."
    if status >= 500:
        return f"The pipeline API had a problem ({detail or 'server error'}). Try again shortly."
    return detail or f"The API refused the request (status {status})."


class ApiClient:
    def __init__(self, base_url: str | None = None, token: str | None = None):
        self.base_url = (base_url or os.environ.get("API_URL", "http://api:8000")).rstrip("/")
        self.token = token or os.environ.get("API_TOKEN", "")

    def _call(self, method: str, path: str, timeout: float = 60, **kw) -> httpx.Response:
        try:
            r = httpx.request(
                method, f"{self.base_url}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=timeout, **kw
            )
        except httpx.HTTPError as exc:
            raise ApiError(f"The pipeline API is unreachable ({type(exc).__name__}). Try again shortly.") from None
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = None
            body = body if isinstance(body, dict) else None
            msg = message(r.status_code, body, r.text)
            if retry := r.headers.get("Retry-After"):
                msg += f" Try again in {retry} seconds."
            raise ApiError(msg, r.status_code, _problems(body or {}))
        return r

    # -- data sets -----------------------------------------------------------------------
    def datasets(self) -> list[dict]:
        return self._call("GET", "/api/v1/datasets").json()

    def upload(self, name: str, data: bytes) -> dict:
        return self._call("POST", "/api/v1/datasets", files={"file": (f"{name}.csv", data, "text/csv")}, data={"name": name}).json()

    def preview(self, dataset_id: str, rows: int = 20) -> dict:
        return self._call("GET", f"/api/v1/datasets/{dataset_id}/preview", params={"rows": rows}).json()

    def delete_dataset(self, dataset_id: str) -> None:
        self._call("DELETE", f"/api/v1/datasets/{dataset_id}")

    def profile(self, dataset_id: str) -> dict:
        return self._call("GET", f"/api/v1/datasets/{dataset_id}/profile").json()

    # -- jobs ----------------------------------------------------------------------------
    def train(self, **body) -> dict:
        return self._call("POST", "/api/v1/training-jobs", json=body).json()

    def predict(self, **body) -> dict:
        return self._call("POST", "/api/v1/prediction-jobs", json=body).json()

    def job(self, job_id: str) -> dict:
        return self._call("GET", f"/api/v1/jobs/{job_id}").json()

    def jobs(self, limit: int = 20, kind: str | None = None) -> list[dict]:
        params = {"limit": limit, **({"kind": kind} if kind else {})}
        return self._call("GET", "/api/v1/jobs", params=params).json()

    def result_csv(self, job_id: str) -> bytes:
        return self._call("GET", f"/api/v1/jobs/{job_id}/result").content

    # -- models, predictions, feedback ---------------------------------------------------------
    def models(self) -> list[dict]:
        return self._call("GET", "/api/v1/models").json()

    def set_champion(self, model_name: str, version: str, reason: str) -> dict:
        """Promote or roll back by hand; the API keeps who (the UI), when and why in the version's tags."""
        body = {"version": version, "reason": reason, "by": "the UI"}
        return self._call("POST", f"/api/v1/models/{model_name}/champion", json=body).json()

    def predict_online(self, model_name: str, records: list[dict]) -> dict:
        """Scores records at once (POST /predictions); an API without that route scores them as a job."""
        try:
            return self._call("POST", "/api/v1/predictions", json={"model_name": model_name, "records": records}).json()
        except ApiError as exc:
            if exc.status != 404 or exc.problems:
                raise
        job = self.predict(model_name=model_name, records=records)
        deadline = time.monotonic() + 120
        while (done := self.job_wait(job["id"]))["status"] not in FINISHED:
            if time.monotonic() > deadline:
                raise ApiError(f"The prediction is still {done['status']} after two minutes; see the Jobs page.")
            time.sleep(0.5)
        if done["status"] == "failed":
            raise ApiError(first_sentence(done["error"]))
        return done["result"]

    def job_wait(self, job_id: str, seconds: int = 10) -> dict:
        """The job once finished or after `seconds` (the API answers early, or at once if it cannot wait)."""
        return self._call("GET", f"/api/v1/jobs/{job_id}", params={"wait": seconds}, timeout=seconds + 30).json()

    def feedback(self, **body) -> dict:
        return self._call("POST", "/api/v1/feedback", json=body).json()


def first_sentence(text: str | None, limit: int = 300) -> str:
    """A job's failure reason cut to its first sentence: the page stays readable whatever the worker said."""
    text = (text or "the job failed").strip()
    cut = re.split(r"(?<=[.;!?])\s|\n", text, maxsplit=1)[0]
    cut = cut if len(cut) <= limit else cut[: limit - 1] + "…"
    return cut if cut == text else cut.rstrip(".;:") + " …"
