"""One trace follows a job from the HTTP request through the queue into the worker's log lines."""

import json

from .flow import upload, wait_job

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def test_trace_id_from_the_request_reaches_the_worker_log(stack, client, csv_bytes):
    stack.start_worker("trace-worker")
    ds = upload(client, csv_bytes, "traced")
    r = client.post(
        "/api/v1/training-jobs",
        json={"dataset_id": ds["id"], "target": "income", "model_name": "traced-model"},
        headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
    )
    job_id = r.json()["id"]
    assert wait_job(client, job_id)["status"] == "succeeded"
    api_lines = [l for l in json_lines(stack.log("api")) if l.get("job_id") == job_id]
    worker_lines = [l for name in ("trace-worker", "rescuer", "worker") for l in json_lines(_safe_log(stack, name)) if l.get("job_id") == job_id]
    assert api_lines and all(l["trace_id"] == TRACE_ID for l in api_lines)
    assert worker_lines and all(l["trace_id"] == TRACE_ID for l in worker_lines)


def _safe_log(stack, name: str) -> str:
    try:
        return stack.log(name)
    except FileNotFoundError:
        return ""
