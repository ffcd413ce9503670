"""HTTP fakes for what cannot run here: Grafana (with Prometheus, Loki and Tempo behind its
data-source proxy) and the MinIO console. Responses are recorded in the real APIs' shapes:

- Grafana data sources: `GET /api/datasources` and `GET /api/datasources/uid/<uid>/health`
  ({"status": "OK"|"ERROR", "message"}, 400 when not OK) — Grafana docs, HTTP API
  "Data source API" (grafana.com/docs/grafana/latest/developer-resources/api-reference/http-api/data_source/);
  the list is the stack's own provisioning (`infra.configs.observability.grafana_datasources`).
- Grafana `GET /api/user` with basic auth — HTTP API "User API"; 401 {"message": ...} otherwise.
- Data-source proxy `/api/datasources/proxy/uid/<uid>/<path>` — "Data source API", "Data source proxy calls".
- Prometheus `GET /api/v1/targets` — prometheus.io/docs/prometheus/latest/querying/api/#targets
  (data.activeTargets[]: labels, scrapePool, scrapeUrl, lastError, health "up"|"down"|"unknown");
  the targets are the stack's generated scrape jobs (`infra.configs.observability.scrape_jobs`).
  Mimir answers 404 there (it has no scrape targets).
- Loki `GET /loki/api/v1/query` — grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-at-a-single-point-in-time
  (data.resultType "vector", result[].metric / value [unix seconds, "count"]).
- Tempo `GET /api/traces/<traceID>` — grafana.com/docs/tempo/latest/api_docs/#query (OTLP JSON
  `batches[].resource.attributes` / `scopeSpans[].spans`, 404 when unknown). The spans are what
  the real API and processor exported over OTLP/HTTP (`POST /v1/traces`) to this server.
- MinIO console — minio/console swagger.yml (basePath /api/v1): `POST /login` {accessKey, secretKey}
  -> 204 + cookie `token` (api/utils.go); `GET /session` -> 200, or 401 without a valid token.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

from infra.configs.observability import grafana_datasources


class _Server:
    def __init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._dispatch(self, "GET")

            def do_POST(self):
                fake._dispatch(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _dispatch(self, h: BaseHTTPRequestHandler, method: str) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        url = urlsplit(h.path)
        status, payload, headers = self.handle(method, url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}, h.headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if data:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeGrafana(_Server):
    def __init__(self, user: str, password: str, services: list[str], scrape_jobs: list[dict]):
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.user = user
        self.services = services
        self.scrape_jobs = scrape_jobs
        self.spans: dict[str, dict[str, list[dict]]] = {}  # trace id (hex) -> service -> spans
        self.lock = threading.Lock()
        self.reset()
        super().__init__()

    def reset(self) -> None:
        """Everything healthy; tests break one thing on purpose."""
        self.unhealthy: set[str] = set()  # data source uids
        self.down_jobs: set[str] = set()  # scrape jobs whose targets are down
        self.silent: set[str] = set()  # services without log lines
        self.keep_traces = True

    @property
    def datasources(self) -> list[dict]:
        provisioned = yaml.safe_load(grafana_datasources())["datasources"]
        return [
            {"id": i + 1, "uid": d["uid"], "orgId": 1, "name": d["name"], "type": d["type"], "typeName": d["type"].title(),
             "access": d["access"], "url": d["url"], "user": "", "database": "", "basicAuth": False,
             "isDefault": d.get("isDefault", False), "jsonData": d.get("jsonData", {}), "readOnly": True}
            for i, d in enumerate(provisioned)
        ]  # fmt: skip

    def handle(self, method, path, query, headers, body):
        if method == "POST" and path == "/v1/traces":  # Tempo's OTLP/HTTP receiver
            self._receive(body)
            return 200, None, None
        if headers.get("Authorization") != self.auth:
            return 401, {"message": "Unauthorized"}, None
        if path == "/api/user":
            return 200, {"id": 1, "email": "admin@localhost", "name": "", "login": self.user, "orgId": 1, "isGrafanaAdmin": True}, None
        if path == "/api/datasources":
            return 200, self.datasources, None
        by_uid = {d["uid"]: d for d in self.datasources}
        parts = path.split("/")
        if path.startswith("/api/datasources/uid/") and path.endswith("/health") and parts[4] in by_uid:
            if parts[4] in self.unhealthy:
                return 400, {"status": "ERROR", "message": f"{by_uid[parts[4]]['url']}: connection refused"}, None
            return 200, {"status": "OK", "message": "Data source is working"}, None
        if path.startswith("/api/datasources/proxy/uid/") and parts[5] in by_uid:
            return self._proxy(by_uid[parts[5]], "/" + "/".join(parts[6:]), query)
        return 404, {"message": "Not found"}, None

    def _proxy(self, ds, path, query):
        if ds["type"] == "prometheus" and path == "/api/v1/targets" and ds["uid"] == "prometheus":
            return 200, {"status": "success", "data": {"activeTargets": self._targets(), "droppedTargets": []}}, None
        if ds["type"] == "loki" and path == "/loki/api/v1/query":
            return 200, self._loki(query["query"]), None
        if ds["type"] == "tempo" and path.startswith("/api/traces/"):
            trace = self._trace(path.rsplit("/", 1)[1])
            return (200, trace, None) if trace else (404, {"error": "trace not found"}, None)
        return 404, {"message": "404 page not found"}, None

    def _targets(self) -> list[dict]:
        targets = []
        for job in self.scrape_jobs:
            for sc in job["static_configs"]:
                for address in sc["targets"]:
                    down = job["job_name"] in self.down_jobs
                    targets.append({
                        "discoveredLabels": {"__address__": address, "job": job["job_name"]},
                        "labels": {"instance": address, "job": job["job_name"], **sc.get("labels", {})},
                        "scrapePool": job["job_name"],
                        "scrapeUrl": f"http://{address}{job.get('metrics_path', '/metrics')}",
                        "globalUrl": f"http://{address}{job.get('metrics_path', '/metrics')}",
                        "lastError": f"Get \"http://{address}/metrics\": dial tcp: connection refused" if down else "",
                        "lastScrape": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "lastScrapeDuration": 0.004,
                        "health": "down" if down else "up",
                        "scrapeInterval": "15s",
                        "scrapeTimeout": "10s",
                    })  # fmt: skip
        return targets

    def _loki(self, query: str) -> dict:
        now = time.time()
        if "by (service)" in query:
            result = [{"metric": {"service": s}, "value": [now, "42"]} for s in self.services if s not in self.silent]
        else:
            result = [{"metric": {}, "value": [now, "7"]}]
        return {"status": "success", "data": {"resultType": "vector", "result": result, "stats": {}}}

    def _receive(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for rs in request.resource_spans:
                service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.spans.setdefault(span.trace_id.hex(), {}).setdefault(service, []).append(
                            {"traceId": base64.b64encode(span.trace_id).decode(), "spanId": base64.b64encode(span.span_id).decode(),
                             "name": span.name, "startTimeUnixNano": str(span.start_time_unix_nano),
                             "endTimeUnixNano": str(span.end_time_unix_nano)}
                        )  # fmt: skip

    def _trace(self, trace_id: str) -> dict | None:
        with self.lock:
            found = self.spans.get(trace_id.lower()) if self.keep_traces else None
            if not found:
                return None
            return {
                "batches": [
                    {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                     "scopeSpans": [{"scope": {"name": "verify-fake"}, "spans": spans}]}
                    for service, spans in found.items()
                ]
            }  # fmt: skip

    def has_trace(self, trace_id: str, services: set[str]) -> bool:
        with self.lock:
            return services <= set(self.spans.get(trace_id, {}))


class FakeMinioConsole(_Server):
    def __init__(self, user: str, password: str):
        self.user, self.password = user, password
        self.tokens: set[str] = set()
        super().__init__()

    def handle(self, method, path, query, headers, body):
        if method == "POST" and path == "/api/v1/login":
            creds = json.loads(body or b"{}")
            if creds.get("accessKey") == self.user and creds.get("secretKey") == self.password:
                token = secrets.token_hex(16)
                self.tokens.add(token)
                return 204, None, {"Set-Cookie": f"token={token}; Path=/; HttpOnly; SameSite=Lax"}
            return 401, {"code": 401, "message": "invalid Login", "detailedMessage": "invalid Login"}, None
        if method == "GET" and path == "/api/v1/session":
            cookie = headers.get("Cookie") or ""
            token = dict(p.strip().split("=", 1) for p in cookie.split(";") if "=" in p).get("token")
            if token in self.tokens:
                return 200, {"status": "ok", "operator": False, "distributedMode": False, "features": [], "permissions": {}}, None
            return 401, {"code": 401, "message": "invalid session", "detailedMessage": "unauthenticated for invalid credentials"}, None
        return 404, {"code": 404, "message": "not found"}, None
