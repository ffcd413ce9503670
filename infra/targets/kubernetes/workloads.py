"""Deployments for stateless services, StatefulSets with volume claims for stateful ones.

Probes come from the catalog's healthcheck, memory from `memory_mb`, the run-as
user from `plan.run_as`. pulumi-kubernetes awaits a workload's readiness before
dependents are created, which reproduces the Docker target's healthy-wait order.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import Healthcheck, Mount, ServiceSpec
from ...image_refs import image_ref
from . import plan, scaling
from .common import KubeContext, labels, port_name, seconds, selector
from .config import ServiceConfig


def exec_command(hc: Healthcheck) -> list[str]:
    kind, *rest = hc.test
    if kind == "CMD":
        return list(rest)
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)]
    raise ValueError(f"unsupported healthcheck test form '{kind}'")


def probes(hc: Healthcheck | None) -> dict:
    """Docker's healthcheck as probes: the start period becomes a startup probe's budget,
    `retries` consecutive failures restart the container (liveness), readiness gates traffic."""
    if hc is None:
        return {}
    period, timeout = seconds(hc.interval), seconds(hc.timeout)
    base = {"exec": {"command": exec_command(hc)}, "periodSeconds": period, "timeoutSeconds": timeout}
    startup_failures = math.ceil(seconds(hc.start_period) / period) + hc.retries
    return {
        "startupProbe": {**base, "failureThreshold": startup_failures},
        "readinessProbe": {**base, "failureThreshold": 3},
        "livenessProbe": {**base, "failureThreshold": hc.retries},
    }


#: The catalog's hardening exceptions travel on the pod template as annotations under the same keys as the
#: Docker target's labels (infra/targets/docker/components.py), where the policy pack reads the stated reasons.
EXCEPTION_ANNOTATION = "mlops.exception."


def exception_annotations(spec: ServiceSpec) -> dict[str, str]:
    return {EXCEPTION_ANNOTATION + key: reason for key, reason in sorted(spec.hardening.exceptions.items())}


def pod_metadata(pod_labels: dict[str, str], spec: ServiceSpec, annotations: dict[str, str] | None = None) -> dict:
    """A pod template's metadata: its labels, and the catalog's stated exceptions (if any) as annotations."""
    merged = {**exception_annotations(spec), **(annotations or {})}
    return {"labels": pod_labels, **({"annotations": merged} if merged else {})}


def security(spec: ServiceSpec) -> tuple[dict, dict]:
    """(pod securityContext, container securityContext)."""
    who = plan.run_as(spec)
    pod: dict = {"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": who.non_root}
    if who.uid is not None:
        pod["runAsUser"] = who.uid
    if who.gid is not None:
        pod["runAsGroup"] = who.gid
        pod["fsGroup"] = who.gid
    # The catalog's hardening, as on Docker: every capability dropped, its stated ones added back, and a
    # read-only root where the catalog has one (tmpfs paths become memory-backed emptyDirs, `tmpfs_volumes`).
    h = spec.hardening
    caps: dict = {"drop": ["ALL"], **({"add": list(h.cap_add)} if h.cap_add else {})}
    container = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": caps,
        "readOnlyRootFilesystem": h.read_only,
    }
    return pod, container


_SIZE_UNITS = {"k": "Ki", "m": "Mi", "g": "Gi"}


def tmpfs_volumes(spec: ServiceSpec) -> tuple[list[dict], list[dict]]:
    """(volumes, mounts) for the catalog's tmpfs paths: emptyDirs in memory, sized like the tmpfs."""
    volumes, mounts = [], []
    for i, (path, options) in enumerate(spec.hardening.tmpfs):
        empty: dict = {"medium": "Memory"}
        if m := re.search(r"(?:^|,)size=(\d+)([kmg])", options, re.I):
            empty["sizeLimit"] = m[1] + _SIZE_UNITS[m[2].lower()]
        volumes.append({"name": f"tmpfs-{i}", "emptyDir": empty})
        mounts.append({"name": f"tmpfs-{i}", "mountPath": path})
    return volumes, mounts


def memory(spec: ServiceSpec) -> dict:
    if spec.memory_mb is None:
        return {}
    mem = f"{spec.memory_mb}Mi"
    return {"requests": {"memory": mem}, "limits": {"memory": mem}}


def resources(spec: ServiceSpec) -> dict:
    """Memory as request and limit; the catalog's CPU as a request only (a CPU limit throttles)."""
    out = memory(spec)
    if spec.cpu_millicores is not None:
        out.setdefault("requests", {})["cpu"] = f"{spec.cpu_millicores}m"
    return out


def replicas(ctx: KubeContext, spec: ServiceSpec) -> int:
    return scaling.initial_replicas(ctx, spec)


def stateful_volumes(ctx: KubeContext, spec: ServiceSpec) -> list[str]:
    return plan.claimed_volumes(ctx.catalog, spec)


def _claim(ctx: KubeContext, volume: str) -> dict:
    # Storage size is not in the catalog; 10Gi is the claim a default provisioner grows from.
    claim: dict = {
        "metadata": {"name": volume},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
    }
    if ctx.settings.kubernetes.storageClass:
        claim["spec"]["storageClassName"] = ctx.settings.kubernetes.storageClass
    return claim


def pod_template(
    ctx: KubeContext, spec: ServiceSpec, cfg: ServiceConfig, ports: set[int], service_account: str | None = None
) -> dict:
    pod_sc, container_sc = security(spec)
    tmp_volumes, tmp_mounts = tmpfs_volumes(spec)
    mounts = [{"name": m.volume, "mountPath": m.path, "readOnly": m.read_only} for m in spec.mounts] + tmp_mounts
    container: dict = {
        "name": spec.name,
        "image": image_ref(ctx.settings, spec.image),
        "ports": [{"name": port_name(p), "containerPort": p, "protocol": "TCP"} for p in sorted(ports)],
        "env": cfg.env,
        "volumeMounts": mounts + cfg.mounts,
        "resources": resources(spec),
        "securityContext": container_sc,
        **probes(spec.healthcheck),
    }
    if spec.command:
        # Docker's `command` replaces the image CMD and keeps its ENTRYPOINT: that is `args`.
        container["args"] = list(spec.command)
    claimed = set(stateful_volumes(ctx, spec))
    scratch = [
        {"name": m.volume, "emptyDir": {}}
        for m in spec.mounts
        if isinstance(m, Mount) and m.volume not in claimed
    ]
    pod: dict = {
        # Only pods that read the Kubernetes API (their own ServiceAccount) get a token.
        "automountServiceAccountToken": service_account is not None,
        **({"serviceAccountName": service_account} if service_account else {}),
        "securityContext": pod_sc,
        "containers": [container],
        "volumes": cfg.volumes + scratch + tmp_volumes,
    }
    if spec.hostname and spec.replicas == 1:
        pod["hostname"] = spec.hostname
    return {"metadata": pod_metadata(labels(ctx.settings, spec.name), spec), "spec": pod}


def workload(
    ctx: KubeContext,
    spec: ServiceSpec,
    cfg: ServiceConfig,
    ports: set[int],
    depends_on: Sequence[pulumi.Resource],
    service_account: pulumi.Resource | None = None,
) -> pulumi.CustomResource:
    sa_name = None if service_account is None else spec.name
    template = pod_template(ctx, spec, cfg, ports, sa_name)
    claims = stateful_volumes(ctx, spec)
    body: dict = {"replicas": replicas(ctx, spec), "selector": {"matchLabels": selector(spec.name)}, "template": template}
    deps = [*depends_on, *cfg.resources, *([service_account] if service_account else [])]
    if not claims:
        # An autoscaler owns the replica count after creation (infra/targets/kubernetes/scaling.py).
        ignore = [scaling.REPLICAS_FIELD] if spec.name in scaling.AUTOSCALED else []
        return k8s.apps.v1.Deployment(
            ctx.urn_name(spec.name, "deployment"),
            metadata=ctx.metadata(spec.name, spec.name),
            spec=body,
            opts=ctx.opts(deps, ignore_changes=ignore),
        )
    keep = ctx.settings.protectData
    body.update(
        serviceName=spec.name,
        volumeClaimTemplates=[_claim(ctx, v) for v in claims],
        # Claims outlive the StatefulSet on delete and scale-down: data is never removed implicitly.
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain", "whenScaled": "Retain"},
    )
    return k8s.apps.v1.StatefulSet(
        ctx.urn_name(spec.name, "statefulset"),
        metadata=ctx.metadata(spec.name, spec.name),
        spec=body,
        opts=ctx.opts(deps, protect=keep, retain_on_delete=keep),
    )
