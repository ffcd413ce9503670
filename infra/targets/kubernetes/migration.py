"""A service's data migration (`Migration` in the catalog) as a Job the workload waits for.

The Job runs the migration command in the service's own image, with the variables it names taken from the
service's env Secret, and pulumi-kubernetes awaits its completion before it creates or updates the Deployment or
StatefulSet that depends on it: a failed migration stops the rollout, and the running pods keep the old version.
The Job's name carries no hash; a new image (or command) changes its template, which replaces the Job and so runs
the migration again. Nothing takes a backup first: postgres-backup is not rendered on Kubernetes
(plan.SKIPPED), so a cluster's PostgreSQL operator or volume snapshots are the user's backup before an upgrade
(docs/upgrading.md).
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import ServiceSpec
from ...image_refs import image_ref
from .common import KubeContext, labels
from .config import env_secret_name
from ...values import is_output
from .workloads import memory, pod_metadata, security, tmpfs_volumes


def job_name(service: str) -> str:
    return f"{service}-migration"


def migration_job(ctx: KubeContext, spec: ServiceSpec, after: Sequence[pulumi.Resource]) -> k8s.batch.v1.Job:
    m = spec.migration
    name = job_name(spec.name)
    hidden = set(spec.secret_env) | {k for k, v in spec.env.items() if is_output(v)}  # config._env's split
    env = [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": env_secret_name(spec.name), "key": k}}}
        if k in hidden
        else {"name": k, "value": str(spec.env[k])}
        for k in m.env
    ]
    pod_sc, container_sc = security(spec)
    volumes, mounts = tmpfs_volumes(spec)
    template = {
        "metadata": pod_metadata(labels(ctx.settings, name), spec),
        "spec": {
            # A failed migration fails the Job (and `pulumi up`) at once: it is not retried on a half-migrated schema.
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": pod_sc,
            "containers": [
                {
                    "name": "migration",
                    "image": image_ref(ctx.settings, spec.image),
                    "command": list(m.command),
                    "env": env,
                    "resources": memory(spec),
                    "securityContext": container_sc,
                    **({"volumeMounts": mounts} if mounts else {}),
                }
            ],
            **({"volumes": volumes} if volumes else {}),
        },
    }
    return k8s.batch.v1.Job(
        ctx.urn_name(spec.name, "migration"),
        metadata=ctx.metadata(name, spec.name),
        spec={"backoffLimit": 0, "template": template},
        opts=ctx.opts(list(after), replace_on_changes=["spec"], delete_before_replace=True),
    )
