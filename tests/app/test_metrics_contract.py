"""The dashboard and alert rules query metrics the API and the worker really expose."""

import re
import shutil
import subprocess
import sys

import httpx
import yaml

from infra.assembly import offline_catalog
from infra.services.observability import grafana

from .flow import scrape, train, upload
from .services import Stack

OWN_METRIC = re.compile(r"\b((?:api|pipeline)_[a-z_]+)")


def queried_own_metrics() -> set[str]:
    exprs = [q.expr for p in grafana.PANELS for q in p.queries]
    prometheus = offline_catalog("production")[1].services["prometheus"]
    rules = yaml.safe_load(next(f.content for f in prometheus.files if f.path.endswith("platform.yml")))
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return {m for e in exprs for m in OWN_METRIC.findall(e)}


def test_dashboard_and_alerts_query_metrics_the_services_expose(client, api_url, worker, stack, csv_bytes):
    ds = upload(client, csv_bytes)
    assert train(client, ds["id"], "metrics-model")["status"] == "succeeded"
    client.get("/api/v1/jobs/does-not-exist")  # a 4xx, so every status family has a series
    samples = scrape(f"{api_url}/metrics")
    for url in stack.live_worker_metrics():
        try:
            samples |= scrape(url, timeout=5)
        except httpx.TransportError:
            pass  # a worker another test is stopping right now
    exposed = {key.split("{", 1)[0] for key in samples}
    queried = queried_own_metrics()
    assert {"api_requests_total", "pipeline_jobs_total"} <= queried
    assert queried <= exposed, queried - exposed


def test_only_running_workers_are_scraped():
    # A killed worker's metrics port is free for any other server to take.
    stack = Stack()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    running = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        stack.workers += [(dead, "http://127.0.0.1:1/metrics"), (running, "http://127.0.0.1:2/metrics")]
        assert stack.live_worker_metrics() == ["http://127.0.0.1:2/metrics"]
    finally:
        running.kill()
        running.wait()
        shutil.rmtree(stack.root)
