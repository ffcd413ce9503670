"""The dashboard and alert rules query metrics the API and the worker really expose."""

import re

import httpx
import yaml

from infra.catalog import build_catalog
from infra.catalog.context import CatalogContext
from infra.configs import dashboards
from infra.secrets import StaticSecrets
from infra.settings import parse_settings

from .flow import train, upload

OWN_METRIC = re.compile(r"\b((?:api|pipeline)_[a-z_]+)")


def queried_own_metrics() -> set[str]:
    exprs = [q.expr for p in dashboards.PANELS for q in p.queries]
    settings = parse_settings("production", {"acmeEmail": "ops@example.org"})
    prometheus = build_catalog(CatalogContext(settings, StaticSecrets())).services["prometheus"]
    rules = yaml.safe_load(next(f.content for f in prometheus.files if f.path.endswith("platform.yml")))
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return {m for e in exprs for m in OWN_METRIC.findall(e)}


def exposed_metric_names(text: str) -> set[str]:
    return set(re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{| )", text, re.M))


def test_dashboard_and_alerts_query_metrics_the_services_expose(client, api_url, worker, stack, csv_bytes):
    ds = upload(client, csv_bytes)
    assert train(client, ds["id"], "metrics-model")["status"] == "succeeded"
    client.get("/api/v1/jobs/does-not-exist")  # a 4xx, so every status family has a series
    exposed = exposed_metric_names(httpx.get(f"{api_url}/metrics").text)
    for url in stack.worker_metrics.values():
        try:
            exposed |= exposed_metric_names(httpx.get(url, timeout=5).text)
        except httpx.TransportError:
            pass  # a worker a fault test has killed
    queried = queried_own_metrics()
    assert {"api_requests_total", "pipeline_jobs_total"} <= queried
    assert queried <= exposed, queried - exposed
