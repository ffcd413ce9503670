"""Every rendered object validates offline against the Kubernetes OpenAPI schema.

Pinned to Kubernetes 1.35 (schemas shipped by kubernetes-validate 1.37.0, see
requirements-dev.txt): upstream supports the three newest minors, and in
November 2026 those are 1.35-1.37, so 1.35 is the oldest cluster the stack must
run on; objects valid there use no field a newer-only API added. `strict` schemas
reject unknown fields, so a misspelt key fails here instead of being dropped by
the API server.
"""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from .harness import manifest

KUBERNETES_VERSION = "1.35.0"
#: Kinds the pinned Kubernetes schemas cover.
CORE_KINDS = {"Namespace", "ConfigMap", "Secret", "Service", "Deployment", "StatefulSet", "NetworkPolicy", "Job",
              "PodDisruptionBudget", "HorizontalPodAutoscaler", "DaemonSet", "ServiceAccount", "Role",
              "RoleBinding", "ClusterRole", "ClusterRoleBinding"}  # fmt: skip
#: The edge's custom resources (Gateway API, Envoy Gateway, cert-manager): kubernetes-validate has no
#: schemas for them; their fields were read at the pinned versions (infra/targets/kubernetes/edge.py) and tests/k8s/test_edge.py
#: checks their content.
CUSTOM_KINDS = {"Gateway", "HTTPRoute", "Issuer", "EnvoyProxy", "HTTPRouteFilter", "SecurityPolicy",
                "BackendTrafficPolicy", "EnvoyExtensionPolicy"}  # fmt: skip


#: KEDA's custom resources: tests/k8s/test_scaling.py checks their fields.
CUSTOM_GROUPS = ("keda.sh/",)


def kube_objects(run) -> list[dict]:
    objects = [manifest(r) for r in run.resources if r.type.startswith("kubernetes:")]
    return [o for o in objects if not o["apiVersion"].startswith(CUSTOM_GROUPS)]


def validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_rendered_object_matches_the_pinned_kubernetes_schema(run):
    objects = kube_objects(run)
    kinds = {o["kind"] for o in objects}
    assert kinds == CORE_KINDS | CUSTOM_KINDS
    objects = [o for o in objects if o["kind"] in CORE_KINDS]
    failures = []
    for obj in objects:
        try:
            validate(obj)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc}")
    assert not failures, "\n".join(failures)


def _deployment(run) -> dict:
    return next(o for o in kube_objects(run) if o["kind"] == "Deployment")


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolcy="Always"),  # misspelt
        lambda d: d["spec"].update(replicas="two"),  # wrong type
        lambda d: d["spec"].pop("selector"),  # required field
    ],
    ids=["unknown-field", "wrong-type", "missing-required"],
)
def test_the_schema_check_rejects_a_broken_object(run, corrupt):
    broken = copy.deepcopy(_deployment(run))
    corrupt(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
