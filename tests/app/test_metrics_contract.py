"""The dashboard and alert rules query metrics the API and the worker really expose."""

import re

import httpx
import yaml

from infra.catalog import offline_catalog
from infra.configs import dashboards

from .flow import scrape, train, upload

OWN_METRIC = re.compile(r"\b((?:api|pipeline)_[a-z_]+)")


def queried_own_metrics() -> set[str]:
    exprs = [q.expr for p in dashboards.PANELS for q in p.queries]
    prometheus = offline_catalog("production")[1].services["prometheus"]
    rules = yaml.safe_load(next(f.content for f in prometheus.files if f.path.endswith("platform.yml")))
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return {m for e in exprs for m in OWN_METRIC.findall(e)}


def test_dashboard_and_alerts_query_metrics_the_services_expose(client, api_url, worker, stack, csv_bytes):
    ds = upload(client, csv_bytes)
    assert train(client, ds["id"], "metrics-model")["status"] == "succeeded"
    client.get("/api/v1/jobs/does-not-exist")  # a 4xx, so every status family has a series
    samples = scrape(f"{api_url}/metrics")
    for url in stack.worker_metrics.values():
        try:
            samples |= scrape(url, timeout=5)
        except httpx.TransportError:
            pass  # a worker a fault test has killed
    exposed = {key.split("{", 1)[0] for key in samples}
    queried = queried_own_metrics()
    assert {"api_requests_total", "pipeline_jobs_total"} <= queried
    assert queried <= exposed, queried - exposed
