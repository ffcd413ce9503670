"""End-to-end throughput against real local services (the same ones the tests start).

Prints: job submissions per second through the API; batch scoring rows/s through the
processor (upload -> prediction job -> CSV in S3) beside in-process scoring of the
same model and the ratio; single-record prediction latency p50/p95 (submit -> result).
Run: .venv/bin/python benchmarks/throughput.py [path.csv] [target]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "app" / "common"), str(ROOT / "app" / "processor")]

import httpx  # noqa: E402
import mlflow  # noqa: E402

from pipeline_common.tabular import read_csv  # noqa: E402
from tests.app.flow import upload, wait_job  # noqa: E402
from tests.app.services import S3_ENV, Stack  # noqa: E402

SUBMISSIONS = 200
LATENCY_SAMPLES = 40


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "adult.csv"
    target = sys.argv[2] if len(sys.argv) > 2 else "income"
    data = path.read_bytes()
    stack = Stack().start()
    try:
        api = stack.start_api(MAX_UPLOAD_BYTES=str(100 * 1024 * 1024))  # the service default; tests use 2 MiB
        stack.start_worker()
        client = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=120)
        ds = upload(client, data, path.stem)
        job = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": target, "model_name": "bench"}).json()
        trained = wait_job(client, job["id"], timeout=600)
        assert trained["status"] == "succeeded", trained["error"]
        features = read_csv(data).drop(columns=[target])
        record = features.head(1).astype(object).iloc[0].to_dict()
        record = {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in record.items()}

        started = time.perf_counter()
        ids = [client.post("/api/v1/prediction-jobs", json={"model_name": "bench", "records": [record]}).json()["id"] for _ in range(SUBMISSIONS)]
        submit_rate = SUBMISSIONS / (time.perf_counter() - started)
        for job_id in ids:
            wait_job(client, job_id, timeout=600)

        latencies = []
        for _ in range(LATENCY_SAMPLES):
            t0 = time.perf_counter()
            job_id = client.post("/api/v1/prediction-jobs", json={"model_name": "bench", "records": [record]}).json()["id"]
            wait_job(client, job_id, interval=0.005)
            latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        job_id = client.post("/api/v1/prediction-jobs", json={"model_name": "bench", "dataset_id": ds["id"]}).json()["id"]
        batch = wait_job(client, job_id, timeout=600)
        e2e_rows_s = batch["result"]["rows"] / (time.perf_counter() - t0)

        mlflow.set_tracking_uri(stack.mlflow)
        os.environ.update({**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": stack.s3})
        model = mlflow.pyfunc.load_model("models:/bench@champion")
        frame = features
        for col in frame.columns:
            if frame[col].dtype.kind in "iuf":
                frame[col] = frame[col].astype("float64")
        t0 = time.perf_counter()
        model.predict(frame)
        inproc_rows_s = len(frame) / (time.perf_counter() - t0)

        q = statistics.quantiles(latencies, n=20)  # polled every 5 ms: figures include up to 5 ms of polling
        print(f"job submissions: {submit_rate:.1f} /s ({SUBMISSIONS} sequential POSTs)")
        print(f"batch scoring end to end: {e2e_rows_s:,.0f} rows/s; in-process pyfunc: {inproc_rows_s:,.0f} rows/s; ratio {e2e_rows_s / inproc_rows_s:.3f}")
        print(f"single-record prediction latency: p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {q[18] * 1000:.0f} ms")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
