"""A small API client whose errors are messages for people, never tracebacks."""

from __future__ import annotations

import os

import httpx


class ApiError(Exception):
    pass


class ApiClient:
    def __init__(self, base_url: str | None = None, token: str | None = None):
        self.base_url = (base_url or os.environ.get("API_URL", "http://api:8000")).rstrip("/")
        self.token = token or os.environ.get("API_TOKEN", "")

    def _call(self, method: str, path: str, **kw):
        try:
            r = httpx.request(
                method, f"{self.base_url}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=60, **kw
            )
        except httpx.HTTPError as exc:
            raise ApiError(f"The pipeline API is unreachable ({type(exc).__name__}). Try again shortly.") from None
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = r.text[:200]
            if isinstance(detail, list):  # FastAPI validation errors
                detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
            raise ApiError(f"{detail} (HTTP {r.status_code})")
        return r

    def datasets(self) -> list[dict]:
        return self._call("GET", "/api/v1/datasets").json()

    def upload(self, name: str, data: bytes) -> dict:
        return self._call("POST", "/api/v1/datasets", files={"file": (f"{name}.csv", data, "text/csv")}, data={"name": name}).json()

    def preview(self, dataset_id: str) -> dict:
        return self._call("GET", f"/api/v1/datasets/{dataset_id}/preview").json()

    def train(self, **body) -> dict:
        return self._call("POST", "/api/v1/training-jobs", json=body).json()

    def predict(self, **body) -> dict:
        return self._call("POST", "/api/v1/prediction-jobs", json=body).json()

    def job(self, job_id: str) -> dict:
        return self._call("GET", f"/api/v1/jobs/{job_id}").json()

    def result_csv(self, job_id: str) -> bytes:
        return self._call("GET", f"/api/v1/jobs/{job_id}/result").content

    def models(self) -> list[dict]:
        return self._call("GET", "/api/v1/models").json()

    def feedback(self, **body) -> dict:
        return self._call("POST", "/api/v1/feedback", json=body).json()
