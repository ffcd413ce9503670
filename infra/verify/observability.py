"""Metrics, logs and traces arrive, asked through Grafana's data-source proxy
(`/api/datasources/proxy/uid/<uid>/...`, Grafana HTTP API docs "Data source API"),
so Prometheus, Loki and Tempo stay off the internet.

Response shapes: Grafana `GET /api/datasources` (list of {uid, name, type, ...}) and
`GET /api/datasources/uid/<uid>/health` ({"status": "OK"|"ERROR", "message"});
Prometheus `GET /api/v1/targets` (data.activeTargets[].health "up"|"down"|"unknown");
Loki `GET /loki/api/v1/query` (data.resultType "vector"|"streams"); Tempo
`GET /api/traces/<id>` (OTLP JSON: batches[].resource.attributes, 404 if unknown)."""

from __future__ import annotations

import time

from .context import Context
from .report import CheckFailed, Skipped

#: Services whose spans the verify job's trace must contain: the request and the worker.
TRACED_SERVICES = ("api", "processor")


class Grafana:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def get(self, path: str, **params):
        return self.ctx.http.get(self.ctx.url("grafana", path), params=params or None, auth=self.ctx.basic("grafana"))

    def json(self, path: str, **params):
        r = self.get(path, **params)
        if r.status_code != 200:
            raise CheckFailed(f"Grafana {path}: HTTP {r.status_code}: {r.text[:200]}")
        return r.json()

    def datasources(self, kind: str | None = None) -> list[dict]:
        found = self.json("api/datasources")
        return [d for d in found if kind is None or d.get("type") == kind]

    def proxy(self, ds: dict, path: str, **params):
        return self.get(f"api/datasources/proxy/uid/{ds['uid']}/{path.lstrip('/')}", **params)


def datasources_check(ctx: Context) -> str:
    g = Grafana(ctx)
    sources = g.datasources()
    if not sources:
        raise CheckFailed("Grafana has no data sources")
    bad = []
    for ds in sources:
        r = g.get(f"api/datasources/uid/{ds['uid']}/health")
        body = r.json() if r.content else {}
        if r.status_code != 200 or body.get("status") != "OK":
            bad.append(f"{ds['name']}: {body.get('message') or f'HTTP {r.status_code}'}")
    if bad:
        raise CheckFailed("unhealthy data sources: " + "; ".join(bad))
    return f"{len(sources)} healthy: " + ", ".join(d["name"] for d in sources)


def targets_check(ctx: Context) -> str:
    g = Grafana(ctx)
    targets, servers = [], []
    for ds in g.datasources("prometheus"):
        r = g.proxy(ds, "api/v1/targets", state="active")
        if r.status_code == 404:
            continue  # a Prometheus-compatible store without scrape targets (Mimir)
        if r.status_code != 200:
            raise CheckFailed(f"{ds['name']} /api/v1/targets: HTTP {r.status_code}")
        servers.append(ds["name"])
        targets += r.json()["data"]["activeTargets"]
    if not servers:
        raise CheckFailed("no Prometheus data source answers /api/v1/targets")
    if not targets:
        raise CheckFailed(f"{', '.join(servers)}: no active scrape targets")
    down = [t for t in targets if t.get("health") != "up"]
    if down:
        raise CheckFailed(
            f"{len(down)} of {len(targets)} targets not up: "
            + "; ".join(f"{t['labels'].get('job')}/{t['labels'].get('instance')}: {t.get('health')} {t.get('lastError', '')}".strip() for t in down)
        )
    return f"{len(targets)} targets up ({', '.join(servers)})"


def _loki(g: Grafana, query: str) -> dict:
    sources = g.datasources("loki")
    if not sources:
        raise CheckFailed("Grafana has no Loki data source")
    r = g.proxy(sources[0], "loki/api/v1/query", query=query, time=str(time.time_ns()))
    if r.status_code != 200:
        raise CheckFailed(f"Loki query {query!r}: HTTP {r.status_code}: {r.text[:200]}")
    return r.json()["data"]


def logs_check(ctx: Context) -> str:
    g, stack, window = Grafana(ctx), ctx.outputs.stack, ctx.options.logs_window
    expected = set(ctx.outputs.containers)
    if not expected:
        raise CheckFailed("outputs.containers: missing, cannot tell which services must log")
    data = _loki(g, f'sum by (service) (count_over_time({{stack="{stack}"}}[{window}]))')
    seen = {s["metric"].get("service") for s in data["result"] if float(s["value"][1]) > 0}
    missing = sorted(expected - seen)
    if missing:
        raise CheckFailed(f"no log lines in the last {window} from: {', '.join(missing)}")
    fresh = int(ctx.options.logs_fresh_seconds)
    newest = _loki(g, f'sum(count_over_time({{stack="{stack}"}}[{fresh}s]))')["result"]
    if not newest or float(newest[0]["value"][1]) == 0:
        raise CheckFailed(f"no log line from stack '{stack}' in the last {fresh}s (is log shipping stalled?)")
    return f"{len(expected)} services logged in the last {window}; {int(float(newest[0]['value'][1]))} lines in the last {fresh}s"


def service_names(trace: dict) -> set[str]:
    """service.name of every resource in a Tempo trace (v1 `batches`, or v2 `trace.resourceSpans`)."""
    batches = trace.get("batches") or (trace.get("trace") or {}).get("resourceSpans") or []
    names = set()
    for b in batches:
        for attr in (b.get("resource") or {}).get("attributes", []):
            if attr.get("key") == "service.name":
                names.add(attr.get("value", {}).get("stringValue"))
    return names


def trace_check(ctx: Context) -> str:
    if not ctx.trace_id:
        raise Skipped("no verify job ran, so there is no trace to look for")
    g = Grafana(ctx)
    sources = g.datasources("tempo")
    if not sources:
        raise CheckFailed("Grafana has no Tempo data source")
    r = g.proxy(sources[0], f"api/traces/{ctx.trace_id}")
    if r.status_code == 404:
        raise CheckFailed(f"trace {ctx.trace_id} of the verify job not found in Tempo")
    if r.status_code != 200:
        raise CheckFailed(f"Tempo trace {ctx.trace_id}: HTTP {r.status_code}: {r.text[:200]}")
    names = service_names(r.json())
    wanted = [s for s in TRACED_SERVICES if s in ctx.outputs.containers] or list(TRACED_SERVICES)
    missing = [s for s in wanted if s not in names]
    if missing:
        raise CheckFailed(f"trace {ctx.trace_id} has no spans from {', '.join(missing)} (has: {', '.join(sorted(names)) or 'none'})")
    return f"trace {ctx.trace_id} spans {', '.join(sorted(names))}"


def checks(ctx: Context):
    return [
        ("grafana datasources", lambda: datasources_check(ctx)),
        ("prometheus targets", lambda: targets_check(ctx)),
        ("loki logs", lambda: logs_check(ctx)),
        ("tempo trace", lambda: trace_check(ctx)),
    ]
