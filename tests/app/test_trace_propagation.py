"""One trace follows a job from the HTTP request through the queue into the worker's log lines."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

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
    # Whichever worker on the shared queue took the job (earlier tests leave workers running).
    worker_lines = [l for log in worker_logs(stack) for l in json_lines(log) if l.get("job_id") == job_id]
    assert api_lines and all(l["trace_id"] == TRACE_ID for l in api_lines)
    assert worker_lines and all(l["trace_id"] == TRACE_ID for l in worker_lines)


def worker_logs(stack) -> list[str]:
    """The log of every process in the stack but the API's."""
    return [p.read_text(errors="replace") for p in sorted(stack.root.glob("*.log")) if not p.stem.endswith("api")]


class OtlpReceiver:
    """An in-memory OTLP/HTTP trace receiver: what Tempo would get, kept as (service, span, trace id)."""

    def __init__(self):
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        received = self.spans = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                for rs in request.resource_spans:
                    attrs = {a.key: a.value.string_value for a in rs.resource.attributes}
                    for scope in rs.scope_spans:
                        for span in scope.spans:
                            received.append((attrs.get("service.name"), span.name, span.trace_id.hex()))
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"

    def spans_of(self, trace_id: str) -> set[tuple[str, str]]:
        return {(service, name) for service, name, tid in self.spans if tid == trace_id}

    def names_of(self, trace_id: str, service: str) -> list[str]:
        return sorted(name for s, name, tid in self.spans if tid == trace_id and s == service)


def test_one_trace_spans_the_request_the_queue_and_the_workers_calls(stack, csv_bytes):
    receiver = OtlpReceiver()
    # Own queue prefix: only this API and this worker see the job.
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100", "QUEUE_PREFIX": "otlp"}
    api = stack.start_api(**env, OTEL_SERVICE_NAME="api")
    stack.start_worker("otlp-worker", **env, OTEL_SERVICE_NAME="processor")
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30) as client:
        ds = upload(client, csv_bytes, "otlp")
        r = client.post(
            "/api/v1/training-jobs",
            json={"dataset_id": ds["id"], "target": "income", "model_name": "otlp-model"},
            headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"},
        )
        assert wait_job(client, r.json()["id"])["status"] == "succeeded"
    expected = {
        ("api", "rabbitmq.publish"),
        ("processor", "job.training"),
        ("processor", "postgres.select_dataset"),
        ("processor", "s3.read_dataset"),
        ("processor", "mlflow.log_and_register"),
        ("processor", "postgres.finish_job"),
    }
    deadline = time.monotonic() + 20
    while not expected <= receiver.spans_of(trace_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert expected <= receiver.spans_of(trace_id), expected - receiver.spans_of(trace_id)
    # One server span for the request: FastAPI 0.163 has OpenTelemetry support of its own, on by
    # default, beside FastAPIInstrumentor's; a trace must not show the request twice.
    api_spans = receiver.names_of(trace_id, "api")
    assert [n for n in api_spans if n.startswith("POST ")] == ["POST /api/v1/training-jobs"], api_spans
    receiver.server.shutdown()


def test_requests_on_one_keep_alive_connection_after_a_large_upload_get_their_own_traces(stack, api_url):
    """uvicorn resumes reading a >64 KiB body from the request's task, which leaked its context
    into the next request on the connection (CPython #140947, Kludex/uvicorn#2167)."""
    from .conftest import make_csv

    big = make_csv(4000, seed=7)
    assert len(big) > 64 * 1024
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30) as client:
        ds = upload(client, big, "large-upload")
        ids = []
        for _ in range(2):
            r = client.post("/api/v1/training-jobs", json={"dataset_id": ds["id"], "target": "income", "model_name": "keepalive-model"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
    traces = {l["job_id"]: l["trace_id"] for l in json_lines(stack.log("api")) if l.get("job_id") in ids}
    assert len(traces) == 2 and len(set(traces.values())) == 2, traces
