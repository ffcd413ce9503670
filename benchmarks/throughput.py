"""Our API beside `mlflow models serve`, on the same registered model, in one run.

Starts the real local services (the ones the tests use), the API and one worker, trains the
champion on the given data set, then starts `mlflow models serve` (this venv's mlflow,
`--env-manager local`, 1 worker) on `models:/<model>@champion` and measures:

- job submissions/s through the API (sequential POST /prediction-jobs of one record), and how
  fast one worker finishes those jobs: the median of several rounds after a first one from cold;
- batch scoring rows/s: our prediction job on the stored data set (POST, then GET ?wait=, so no
  polling interval quantises it) vs serve's /invocations in chunks of 1,000 and 5,000 rows
  (request bodies built before the clock starts), in interleaved rounds, each the median; and the
  in-process floor, pyfunc `predict` on the parsed frame, median of several runs;
- single-record latency p50/p95: POST /api/v1/predictions vs serve's /invocations,
  interleaved so that load on the machine hits both alike;

and prints each figure with its ratio against the goal. `--profile` adds a cProfile of the
worker's prediction path (`data_processor.scoring.predict`) on the same data set.

Run: .venv/bin/python benchmarks/throughput.py /path/to/adult.csv [--target income]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), *(str(ROOT / "app" / p) for p in ("common", "api", "processor"))]

import httpx  # noqa: E402
import mlflow  # noqa: E402

from pipeline_common.tabular import read_csv  # noqa: E402
from tests.app.flow import upload  # noqa: E402
from tests.app.services import BIN, S3_ENV, Stack, free_port, wait_for  # noqa: E402

MODEL = "bench"
SUBMISSIONS = 200
LATENCY_SAMPLES = 200
WARMUP = 20
BATCH_RUNS = 5
SUBMIT_RUNS = 3
FLOOR_RUNS = 7
CHUNKS = (1_000, 5_000)
GOALS = {"submissions": 93.0, "vs_serve": 2.0, "vs_floor": 0.6, "p50": 1.0}


def wait_job(client: httpx.Client, job_id: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 60}).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job


def start_serve(stack: Stack) -> str:
    port = free_port()
    # serve execs `uvicorn` from PATH (mlflow/pyfunc/backend.py): this venv's bin comes first.
    env = {**S3_ENV, "MLFLOW_TRACKING_URI": stack.mlflow, "MLFLOW_S3_ENDPOINT_URL": stack.s3,
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    proc = stack.procs.start(
        "mlflow-serve",
        [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{MODEL}@champion", "--env-manager", "local",
         "-w", "1", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(url + "/ping", timeout=2).status_code == 200, "mlflow models serve", 300, proc)
    return url


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def json_records(features) -> list[dict]:
    """Rows as JSON-ready dicts: numbers as floats, missing values as null."""
    frame = features.astype(object).where(features.notna(), None)
    return [{k: (float(v) if isinstance(v, (int, float)) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def profile_worker_path(stack: Stack, dataset_id: str, version: str) -> None:
    from data_processor import scoring
    from data_processor.jobs import Worker

    from pipeline_common.config import AppSettings

    os.environ.update({**S3_ENV, "MLFLOW_TRACKING_URI": stack.mlflow, "MLFLOW_S3_ENDPOINT_URL": stack.s3})
    env = stack.env
    worker = Worker(
        AppSettings(database_url=env["DATABASE_URL"], amqp_url=env["AMQP_URL"], s3_endpoint_url=env["S3_ENDPOINT_URL"],
                    mlflow_tracking_uri=env["MLFLOW_TRACKING_URI"])
    )  # fmt: skip
    job = SimpleNamespace(id="profile", params={"model_name": MODEL, "model_version": version, "dataset_id": dataset_id})
    scoring.predict(worker, job)  # the model is loaded once per worker: profile the steady state
    profiler = cProfile.Profile()
    profiler.runcall(scoring.predict, worker, job)
    print("\nworker prediction path (cProfile, cumulative, steady state):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(18)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path, help="CSV data set (e.g. /path/to/adult.csv)")
    ap.add_argument("--target", default="income", help="target column (default: income)")
    ap.add_argument("--profile", action="store_true", help="also profile the worker's prediction path")
    args = ap.parse_args()
    data = args.data.read_bytes()
    features = read_csv(data).drop(columns=[args.target])
    records = json_records(features)
    record = records[0]

    stack = Stack().start()
    try:
        api = stack.start_api(MAX_UPLOAD_BYTES=str(100 * 1024 * 1024))  # the service default; tests use 2 MiB
        stack.start_worker()
        client = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=120)
        ds = upload(client, data, args.data.stem)
        job = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": args.target, "model_name": MODEL}).json()
        trained = wait_job(client, job["id"])
        assert trained["status"] == "succeeded", trained
        version = trained["result"]["model_version"]
        serve = start_serve(stack)
        serve_client = httpx.Client(base_url=serve, timeout=120, headers={"Content-Type": "application/json"})

        # -- job submissions ------------------------------------------------------------------
        def submit_round(count: int) -> tuple[float, float]:
            """(submissions/s, jobs done/s): `count` sequential POSTs while the worker takes the jobs
            as they come, then the wait for the last one (one worker, one job at a time)."""
            started = time.perf_counter()
            ids = [client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "records": [record]}).json()["id"] for _ in range(count)]
            submitted = time.perf_counter() - started
            assert all(wait_job(client, job_id)["status"] == "succeeded" for job_id in ids)
            return count / submitted, count / (time.perf_counter() - started)

        # As for batch below: the worker loads the model on its first job and the API resolves the
        # champion on its first request. The first round pays for both, so it measures start-up, not
        # throughput; it is printed beside the figure, not part of it.
        cold_round = submit_round(SUBMISSIONS)
        submit_rounds = [submit_round(SUBMISSIONS) for _ in range(SUBMIT_RUNS)]
        submit_rate = statistics.median(r[0] for r in submit_rounds)
        done_rate = statistics.median(r[1] for r in submit_rounds)

        # -- single record ----------------------------------------------------------------------
        ours_body = json.dumps({"model_name": MODEL, "records": [record]}).encode()
        serve_body = json.dumps({"dataframe_records": [record]}).encode()
        headers = {"Content-Type": "application/json"}

        def ours_one():
            r = client.post("/api/v1/predictions", content=ours_body, headers=headers)
            assert r.status_code == 200, r.text

        def serve_one():
            r = serve_client.post("/invocations", content=serve_body)
            assert r.status_code == 200, r.text

        for _ in range(WARMUP):
            ours_one(), serve_one()
        ours_lat, serve_lat = [], []
        for _ in range(LATENCY_SAMPLES):
            ours_lat.append(timed(ours_one))
            serve_lat.append(timed(serve_one))

        # -- batch ---------------------------------------------------------------------------------
        rows = len(records)

        def ours_batch():
            job_id = client.post("/api/v1/prediction-jobs", json={"model_name": MODEL, "dataset_id": ds["id"]}).json()["id"]
            result = wait_job(client, job_id)
            assert result["status"] == "succeeded" and result["result"]["rows"] == rows, result

        columns = list(features.columns)
        bodies = {
            chunk: [
                json.dumps({"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in records[i : i + chunk]]}}).encode()
                for i in range(0, rows, chunk)
            ]
            for chunk in CHUNKS
        }

        def serve_batch(chunk: int):
            for body in bodies[chunk]:
                r = serve_client.post("/invocations", content=body)
                assert r.status_code == 200, r.text[:300]

        ours_batch()  # the worker loads the model on its first job; measure the steady state
        # Rounds interleave ours and serve's chunkings, so a change in the machine's load during the
        # run hits all of them alike (serve's figure alone moved by half between runs).
        batch_times = {"ours": [], **{chunk: [] for chunk in CHUNKS}}
        for _ in range(BATCH_RUNS):
            batch_times["ours"].append(timed(ours_batch))
            for chunk in CHUNKS:
                batch_times[chunk].append(timed(lambda c=chunk: serve_batch(c)))
        ours_rows_s = rows / statistics.median(batch_times["ours"])
        serve_rows_s = {chunk: rows / statistics.median(batch_times[chunk]) for chunk in CHUNKS}

        # -- in-process floor ---------------------------------------------------------------------
        os.environ.update({**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": stack.s3})
        mlflow.set_tracking_uri(stack.mlflow)
        model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
        frame = features.copy()
        for col in frame.columns:
            if frame[col].dtype.kind in "iuf":
                frame[col] = frame[col].astype("float64")
        model.predict(frame)
        floor_runs = [timed(lambda: model.predict(frame)) for _ in range(FLOOR_RUNS)]
        floor_rows_s = rows / statistics.median(floor_runs)

        # -- report -------------------------------------------------------------------------------
        best_chunk = max(serve_rows_s, key=serve_rows_s.get)
        ours_p50, serve_p50 = statistics.median(ours_lat) * 1000, statistics.median(serve_lat) * 1000

        def verdict(ok: bool) -> str:
            return "goal met" if ok else "goal NOT met"

        print(f"data: {args.data} ({rows:,} rows); model {MODEL} v{version}; load average {os.getloadavg()[0]:.1f} at the end")
        print(f"job submissions (median of {SUBMIT_RUNS} rounds of {SUBMISSIONS} sequential POSTs): {submit_rate:.1f} /s; "
              f"goal >= {GOALS['submissions']:.0f}/s: ratio {submit_rate / GOALS['submissions']:.2f}, {verdict(submit_rate >= GOALS['submissions'])}")
        print(f"  rounds: {', '.join(f'{r[0]:.1f}' for r in submit_rounds)} /s, after a first round from cold of {cold_round[0]:.1f} /s; "
              f"the same jobs done by one worker (first POST to last job finished): {done_rate:.1f} jobs/s")
        print(f"batch rows/s (median of {BATCH_RUNS}): ours (prediction job, POST -> ?wait=) {ours_rows_s:,.0f}; "
              + "; ".join(f"mlflow serve, chunks of {c:,}: {v:,.0f}" for c, v in serve_rows_s.items())
              + f"; in-process pyfunc floor (median of {FLOOR_RUNS}): {floor_rows_s:,.0f}")
        print(f"  ours / serve's best (chunks of {best_chunk:,}): {ours_rows_s / serve_rows_s[best_chunk]:.2f}x, goal >= {GOALS['vs_serve']:.0f}x: "
              f"{verdict(ours_rows_s >= GOALS['vs_serve'] * serve_rows_s[best_chunk])}")
        print(f"  ours / floor: {ours_rows_s / floor_rows_s:.2f}, goal >= {GOALS['vs_floor']}: {verdict(ours_rows_s >= GOALS['vs_floor'] * floor_rows_s)}")
        print(f"  floor runs (rows/s): {', '.join(f'{rows / t:,.0f}' for t in floor_runs)}")
        print("  batch rounds (rows/s, min-max): "
              + "; ".join(f"{'ours' if k == 'ours' else f'serve {k:,}'} {rows / max(v):,.0f}-{rows / min(v):,.0f}" for k, v in batch_times.items()))
        print(f"one record ({LATENCY_SAMPLES} interleaved requests each): ours (POST /api/v1/predictions) p50 {ours_p50:.1f} ms, "
              f"p95 {percentile(ours_lat, 95) * 1000:.1f} ms; mlflow serve p50 {serve_p50:.1f} ms, p95 {percentile(serve_lat, 95) * 1000:.1f} ms")
        print(f"  ours p50 / serve p50: {ours_p50 / serve_p50:.2f}, goal <= {GOALS['p50']:.0f}: {verdict(ours_p50 <= serve_p50)}")
        if args.profile:
            profile_worker_path(stack, ds["id"], version)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
