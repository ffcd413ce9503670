"""Data at size (issue #23): upload, preview, training and scoring of 100 MB, 1 GB and 2 GB data sets.

Starts the real local services the tests use (PostgreSQL, RabbitMQ, moto S3, MLflow), one API and
one worker with the catalog's settings for memory (MAX_UPLOAD_BYTES from `data.maxUpload`,
MEMORY_LIMIT_MB and TRAINING_OVERSIZE of the processor), writes each data set by repeating the
rows of the CSV you name (the Adult data: `income` is the target) until it reaches the size, and
prints for each size:

- upload: wall time of `POST /api/v1/datasets` (streamed from the file) and the API's peak RSS
  beside its idle RSS and the catalog's memory limit;
- preview: median time of `GET .../preview?rows=20` over 5 calls;
- training: job time, the worker's peak RSS beside the limit, and the rows it trained on;
- scoring: a batch prediction job over every row: rows/s and the worker's peak RSS;

then the four goals, each met or not. RSS is sampled every 20 ms from /proc (the API and the
worker are single processes: uvicorn, and Celery with the threads pool).

Run: .venv/bin/python benchmarks/scale.py /path/to/adult.csv [--sizes 100M,1G,2G] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), *(str(ROOT / "app" / p) for p in ("common", "api", "processor"))]

import httpx  # noqa: E402

from benchmarks.throughput import wait_job  # noqa: E402  (long-polls the job)
from infra.assembly import offline_catalog  # noqa: E402
from infra.settings import size_bytes  # noqa: E402
from tests.app.services import Stack  # noqa: E402

MODEL = "scale-bench"
UNITS = {"M": 1000**2, "G": 1000**3}
PREVIEW_CALLS = 5
GOALS = "API peak <= idle + 150 MB; worker peak <= 80% of its limit; preview <= 100 ms; scoring >= 100k rows/s at 1 GB"


def parse_size(text: str) -> int:
    return int(float(text[:-1]) * UNITS[text[-1].upper()]) if text[-1].upper() in UNITS else int(text)


def write_dataset(source: Path, target: Path, size: int) -> int:
    """`source`'s rows repeated until `target` holds `size` bytes; returns the number of rows."""
    lines = source.read_bytes().splitlines(keepends=True)
    header, body = lines[0], b"".join(lines[1:])
    per_copy = len(lines) - 1
    rows = 0
    with target.open("wb") as out:
        out.write(header)
        written = len(header)
        while written + len(body) <= size:
            out.write(body)
            written += len(body)
            rows += per_copy
        for line in lines[1:]:  # top up to the size with whole rows
            if written + len(line) > size:
                break
            out.write(line)
            written += len(line)
            rows += 1
    return rows


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest RSS of a process while the `with` block runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> "PeakRss":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def run_job(client: httpx.Client, path: str, body: dict, worker_pid: int) -> tuple[dict, float, float]:
    with PeakRss(worker_pid) as peak:
        started = time.perf_counter()
        r = client.post(path, json=body)
        r.raise_for_status()
        job = wait_job(client, r.json()["id"], timeout=7200)
        took = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise SystemExit(f"{path} failed: {job['error']}")
    return job, took, peak.peak


def measure(client: httpx.Client, csv: Path, rows: int, api_pid: int, worker_pid: int) -> dict:
    idle = rss_mb(api_pid)
    with PeakRss(api_pid) as api_peak, csv.open("rb") as f:
        started = time.perf_counter()
        r = client.post("/api/v1/datasets", files={"file": (csv.name, f, "text/csv")}, data={"name": csv.stem})
        upload_s = time.perf_counter() - started
    if r.status_code != 201:
        raise SystemExit(f"upload of {csv.name} failed: {r.status_code} {r.text[:300]}")
    ds = r.json()
    previews = []
    for _ in range(PREVIEW_CALLS):
        started = time.perf_counter()
        client.get(f"/api/v1/datasets/{ds['id']}/preview", params={"rows": 20}).raise_for_status()
        previews.append(time.perf_counter() - started)
    train, train_s, train_peak = run_job(
        client, "/api/v1/training-jobs", {"dataset_id": ds["id"], "target": "income", "model_name": MODEL}, worker_pid
    )
    score, score_s, score_peak = run_job(client, "/api/v1/prediction-jobs", {"dataset_id": ds["id"], "model_name": MODEL}, worker_pid)
    result = train["result"]
    return {
        "bytes": csv.stat().st_size,
        "rows": rows,
        "stored_rows": ds["rows"],
        "upload_s": upload_s,
        "api_idle": idle,
        "api_peak": api_peak.peak,
        "preview_ms": statistics.median(previews) * 1000,
        "train_s": train_s,
        "train_peak": train_peak,
        "trained_rows": result.get("sample_rows") or result.get("rows") or ds["rows"],
        "score_s": score_s,
        "score_rows": score["result"]["rows"],
        "score_peak": score_peak,
    }


def print_results(results: list[dict], api_limit: int, worker_limit: int) -> None:
    print(f"\n{'size':>8} {'rows':>11} | {'upload s':>8} {'API idle':>8} {'API peak':>8} {'limit':>6} | {'preview':>8} | "
          f"{'train s':>8} {'trained':>11} {'worker':>7} {'limit':>6} | {'score s':>7} {'rows/s':>9} {'worker':>7}")  # fmt: skip
    for r in results:
        print(
            f"{r['bytes'] / 1e6:>6.0f}MB {r['rows']:>11,} | {r['upload_s']:>8.1f} {r['api_idle']:>6.0f}MB {r['api_peak']:>6.0f}MB "
            f"{api_limit:>4}MB | {r['preview_ms']:>6.1f}ms | {r['train_s']:>8.1f} {r['trained_rows']:>11,} {r['train_peak']:>5.0f}MB "
            f"{worker_limit:>4}MB | {r['score_s']:>7.1f} {r['score_rows'] / r['score_s']:>9,.0f} {r['score_peak']:>5.0f}MB"
        )
    print(f"\ngoals: {GOALS}")
    for r in results:
        size = f"{r['bytes'] / 1e6:.0f} MB"
        checks = {
            "API peak <= idle + 150 MB": r["api_peak"] <= r["api_idle"] + 150,
            "worker peak <= 80% of limit (training)": r["train_peak"] <= 0.8 * worker_limit,
            "worker peak <= 80% of limit (scoring)": r["score_peak"] <= 0.8 * worker_limit,
            "preview of 20 rows <= 100 ms": r["preview_ms"] <= 100,
        }
        if 0.9e9 <= r["bytes"] <= 1.1e9:
            checks["scoring >= 100k rows/s at 1 GB"] = r["score_rows"] / r["score_s"] >= 100_000
        for goal, met in checks.items():
            print(f"  {size:>8}  {'met' if met else 'NOT MET':<7}  {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", type=Path, help="a CSV with an `income` target column (the Adult data)")
    parser.add_argument("--sizes", default="100M,1G,2G", help="comma-separated sizes (M and G are decimal)")
    parser.add_argument("--keep", type=Path, help="write the data sets here and keep them (default: a temporary folder)")
    args = parser.parse_args()

    settings, catalog = offline_catalog("staging")
    api, processor = catalog.services["api"], catalog.services["processor"]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="scale-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    stack = Stack().start()
    try:
        # The catalog's own limits and policy, not the tests' small ones.
        api_url = stack.start_api(MAX_UPLOAD_BYTES=str(size_bytes(settings.data.maxUpload)))
        api_pid = stack.procs.procs[-1].pid
        worker = stack.start_worker(
            MEMORY_LIMIT_MB=processor.env["MEMORY_LIMIT_MB"], TRAINING_OVERSIZE=processor.env["TRAINING_OVERSIZE"]
        )
        results = []
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=3600) as client:
            for text in args.sizes.split(","):
                csv = folder / f"scale-{text}.csv"
                rows = write_dataset(args.csv, csv, parse_size(text))
                print(f"{text}: {csv.stat().st_size:,} bytes, {rows:,} rows", flush=True)
                results.append(measure(client, csv, rows, api_pid, worker.pid))
                if not args.keep:
                    csv.unlink()
        print_results(results, api.memory_mb, processor.memory_mb)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
