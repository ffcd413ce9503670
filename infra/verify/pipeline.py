"""The API is ready and a tiny job runs end to end; afterwards nothing of it is left.

The job: upload a small CSV made here, train `verify-<stack>`, predict three records.
Every request carries a W3C `traceparent` with a trace id chosen here, so the
observability checks can ask Tempo for exactly this job's trace. Cleanup deletes the
data set (API) and the registered model and its runs (MLflow REST API through the
public MLflow URL), also leftovers of an earlier interrupted verify."""

from __future__ import annotations

import random
import secrets
import time

from .context import Context
from .report import CheckFailed, Skipped

TARGET = "label"
MLFLOW = "api/2.0/mlflow"


def model_name(ctx: Context) -> str:
    return f"verify-{ctx.outputs.stack}"


def sample_csv(rows: int = 120, seed: int = 11) -> bytes:
    """A small, learnable classification set: two numeric features, one categorical."""
    rng = random.Random(seed)
    lines = [f"x1,x2,colour,{TARGET}"]
    for _ in range(rows):
        x1, x2 = rng.randint(0, 100), round(rng.uniform(0, 10), 2)
        colour = rng.choice(["red", "green", "blue"])
        label = "yes" if x1 / 10 + x2 + (3 if colour == "red" else 0) + rng.gauss(0, 1) > 11 else "no"
        lines.append(f"{x1},{x2},{colour},{label}")
    return ("\n".join(lines) + "\n").encode()


SAMPLE_RECORDS = [{"x1": 90, "x2": 9.5, "colour": "red"}, {"x1": 5, "x2": 0.5, "colour": "blue"}, {"x1": 50, "x2": 5.0, "colour": "green"}]


class Api:
    def __init__(self, ctx: Context, trace_id: str):
        self.ctx, self.trace_id = ctx, trace_id
        self.headers = {"Authorization": f"Bearer {ctx.creds('api')['token']}"}

    def request(self, method: str, path: str, **kw):
        span_id = secrets.token_hex(8)
        headers = {**self.headers, "traceparent": f"00-{self.trace_id}-{span_id}-01"}
        return self.ctx.http.request(method, self.ctx.url("api", path), headers=headers, **kw)

    def expect(self, status: int, method: str, path: str, **kw) -> dict:
        r = self.request(method, path, **kw)
        if r.status_code != status:
            raise CheckFailed(f"{method} /{path}: HTTP {r.status_code}, expected {status}: {r.text[:300]}")
        return r.json() if r.content else {}

    def run_job(self, path: str, body: dict, what: str) -> dict:
        job = self.expect(202, "POST", path, json=body)
        deadline = time.monotonic() + self.ctx.options.job_timeout
        delay = 0.2
        while True:
            job = self.expect(200, "GET", f"api/v1/jobs/{job['id']}")
            if job["status"] == "succeeded":
                return job
            if job["status"] == "failed":
                raise CheckFailed(f"{what} job {job['id']} failed: {job.get('error')}")
            if time.monotonic() > deadline:
                raise CheckFailed(f"{what} job {job['id']} still {job['status']} after {self.ctx.options.job_timeout:g}s")
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


class Mlflow:
    """MLflow's REST API (docs: "MLflow REST API", 2.0 endpoints) through the public URL."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def call(self, method: str, endpoint: str, **kw):
        r = self.ctx.http.request(method, self.ctx.url("mlflow", f"{MLFLOW}/{endpoint}"), auth=self.ctx.basic("mlflow"), **kw)
        if r.status_code == 404 and "RESOURCE_DOES_NOT_EXIST" in r.text:
            return None
        if r.status_code != 200:
            raise CheckFailed(f"MLflow {endpoint}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()

    def model_exists(self, name: str) -> bool:
        return self.call("GET", "registered-models/get", params={"name": name}) is not None

    def remove(self, name: str) -> str:
        """Delete the registered model (all versions) and the runs of its experiment."""
        runs = 0
        exp = self.call("GET", "experiments/get-by-name", params={"experiment_name": name})
        if exp is not None:
            found = self.call("POST", "runs/search", json={"experiment_ids": [exp["experiment"]["experiment_id"]], "max_results": 1000})
            for run in (found or {}).get("runs", []):
                self.call("POST", "runs/delete", json={"run_id": run["info"]["run_id"]})
                runs += 1
        existed = self.model_exists(name)
        if existed:
            self.call("DELETE", "registered-models/delete", json={"name": name})
        if self.model_exists(name):
            raise CheckFailed(f"MLflow: model '{name}' still registered after delete")
        return f"model {'removed' if existed else 'absent'}, {runs} run(s) deleted"


def ready_check(ctx: Context):
    def check() -> str:
        r = ctx.http.get(ctx.url("api", "ready"))
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        checks = body.get("checks") or {}
        bad = {k: v for k, v in checks.items() if v != "ok"}
        if r.status_code != 200 or bad or not checks:
            raise CheckFailed(f"/ready HTTP {r.status_code}: " + (", ".join(f"{k}: {v}" for k, v in bad.items()) or r.text[:200]))
        return "all ok: " + ", ".join(sorted(checks))

    return "api ready", check


class EndToEnd:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.dataset_id: str | None = None
        self.cleanup_detail = ""

    def check(self) -> str:
        ctx = self.ctx
        ctx.trace_id = secrets.token_hex(16)
        api, name = Api(ctx, ctx.trace_id), model_name(ctx)
        Mlflow(ctx).remove(name)  # leftovers of an interrupted run would change the version and champion
        started = time.monotonic()
        try:
            ds = api.expect(201, "POST", "api/v1/datasets", files={"file": ("verify.csv", sample_csv(), "text/csv")}, data={"name": name})
            self.dataset_id = ds["id"]
            trained = api.run_job("api/v1/training-jobs", {"dataset_id": ds["id"], "target": TARGET, "model_name": name}, "training")
            t_train = time.monotonic() - started
            predicted = api.run_job("api/v1/prediction-jobs", {"model_name": name, "records": SAMPLE_RECORDS}, "prediction")
            preds = (predicted.get("result") or {}).get("predictions") or []
            if len(preds) != len(SAMPLE_RECORDS):
                raise CheckFailed(f"prediction job {predicted['id']}: {len(preds)} predictions for {len(SAMPLE_RECORDS)} records")
        finally:
            self.cleanup()
        result = trained.get("result") or {}
        acc = (result.get("metrics") or {}).get("accuracy")
        return (
            f"{ds['rows']} rows; trained {name} v{result.get('model_version')} in {t_train:.1f}s"
            + (f" (accuracy {acc:.2f})" if isinstance(acc, (int, float)) else "")
            + f"; predicted {len(preds)} records; total {time.monotonic() - started:.1f}s; trace {ctx.trace_id}"
        )

    def cleanup(self) -> None:
        parts, problems = [], []
        if self.dataset_id:
            r = Api(self.ctx, self.ctx.trace_id).request("DELETE", f"api/v1/datasets/{self.dataset_id}")
            if r.status_code == 204:
                parts.append(f"data set {self.dataset_id} deleted")
                self.dataset_id = None
            else:
                problems.append(f"DELETE data set {self.dataset_id}: HTTP {r.status_code}: {r.text[:200]}")
        try:
            parts.append(Mlflow(self.ctx).remove(model_name(self.ctx)))
        except CheckFailed as exc:
            problems.append(str(exc))
        self.cleanup_detail = "; ".join(problems) if problems else "; ".join(parts)
        self.cleanup_ok = not problems

    def cleanup_check(self) -> str:
        if not self.cleanup_detail:
            raise Skipped("the end-to-end job did not start")
        if not self.cleanup_ok:
            self.cleanup()  # a retry of what is left
        if not self.cleanup_ok:
            raise CheckFailed(self.cleanup_detail)
        return self.cleanup_detail
