"""The Kubernetes diagram (docs/kubernetes.md) against what the program registers for k8s-staging under the
mock runtime: the same workloads of the same kinds, the same routes, the same autoscalers."""

from __future__ import annotations

import re

from infra.diagram import mermaid
from infra.targets.kubernetes import plan

from .harness import STACK, manifest
from .test_k8s_stack import stack_catalog

KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def of_kind(run, kind: str) -> list[dict]:
    return [manifest(r) for r in run.resources if r.type.endswith(f":{kind}")]


def test_diagram_draws_each_workload_as_the_program_renders_it(run):
    rendered = {m["metadata"]["name"]: kind for kind in KINDS for m in of_kind(run, kind)}
    catalog = stack_catalog()
    assert rendered == {n: plan.workload_kind(catalog, n) for n in [*plan.rendered(catalog), *plan.DAEMONSETS]}
    text = mermaid(STACK)
    for name, kind in rendered.items():
        assert f'["{name}: {kind}' in text, name
    jobs = {m["metadata"]["name"] for m in of_kind(run, "Job")}
    assert jobs == {"postgres-bootstrap", "minio-bootstrap", "mlflow-migration"}
    drawn = {f"{n}-bootstrap" for n in rendered if f'["{n}: {rendered[n]} + bootstrap Job"]' in text}
    drawn |= {f"{n}-migration" for n in rendered if f'["{n}: {rendered[n]} + migration Job"]' in text}
    assert drawn == jobs


def test_diagram_routes_are_the_programs_httproutes(run):
    routes = {
        (m["spec"]["hostnames"][0], m["spec"]["rules"][-1]["backendRefs"][0]["name"])
        for m in run_custom(run, "HTTPRoute")
        if m["metadata"]["name"] != "https-redirect"
    }
    drawn = set(re.findall(r"^  gateway -\.->\|([^|]+)\| (\w+)$", mermaid(STACK), re.M))
    assert routes and drawn == {(host, name.replace("-", "_")) for host, name in routes}


def test_diagram_autoscalers_are_the_programs(run):
    hpa = {m["spec"]["scaleTargetRef"]["name"]: m["spec"] for m in of_kind(run, "HorizontalPodAutoscaler")}
    keda = {m["spec"]["scaleTargetRef"]["name"]: m["spec"] for m in run_custom(run, "ScaledObject")}
    assert set(hpa) == {"api"} and set(keda) == {"processor"}
    text = mermaid(STACK)
    assert f'"HPA: {hpa["api"]["minReplicas"]}-{hpa["api"]["maxReplicas"]} replicas' in text
    assert f'"KEDA: {keda["processor"]["minReplicaCount"]}-{keda["processor"]["maxReplicaCount"]} replicas' in text


def run_custom(run, kind: str) -> list[dict]:
    """CustomResources are recorded under one type; their kind is an input."""
    return [m for r in run.resources if r.type.startswith("kubernetes:") and (m := manifest(r)).get("kind") == kind]
