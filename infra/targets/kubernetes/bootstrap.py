"""Bootstrap scripts as Jobs that reach their service over the network.

On Docker a bootstrap runs inside the service's container (`docker exec`), so the
catalog's scripts address the server at loopback or through its local socket. A Job
runs the same script in the same image, in its own pod: loopback becomes the
Service's name, and `CLIENT_ENV` says how a client of that image finds and logs in to
the server over TCP. The scripts are idempotent, so a re-run (a replaced Job) is safe.
pulumi-kubernetes awaits the Job's completion, so dependents start after it, as on Docker.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import ServiceSpec
from ...image_refs import image_ref
from .common import KubeContext, file_key, labels
from .config import files_secret_name
from .workloads import memory, pod_metadata, security

#: name -> (plain env, env read from the service's secret files: name -> file path).
CLIENT_ENV: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # psql without -h uses the local socket; over TCP the official image's pg_hba wants the
    # superuser's password (scram-sha-256), which the service reads from this secret file.
    "postgres": ({"PGHOST": "postgres", "PGPORT": "5432"}, {"PGPASSWORD": "/run/secrets/postgres_password"}),
}


def job_name(service: str) -> str:
    return f"{service}-bootstrap"


def network_script(spec: ServiceSpec) -> str:
    """The catalog's script, addressing the service by its Service name instead of loopback."""
    return spec.bootstrap.script.replace("127.0.0.1", spec.name)


def bootstrap_job(ctx: KubeContext, spec: ServiceSpec, after: Sequence[pulumi.Resource]) -> k8s.batch.v1.Job:
    boot = spec.bootstrap
    name = job_name(spec.name)
    secret_name = f"{name}-env"
    env_secret = k8s.core.v1.Secret(
        ctx.urn_name(spec.name, "bootstrap-env"),
        metadata=ctx.metadata(secret_name, spec.name),
        type="Opaque",
        string_data=pulumi.Output.secret(dict(boot.env)),
        opts=ctx.opts(),
    )
    plain, from_files = CLIENT_ENV.get(spec.name, ({}, {}))
    env = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    env += [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": files_secret_name(spec.name), "key": file_key(path)}}}
        for k, path in sorted(from_files.items())
    ]
    env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": k}}} for k in sorted(boot.env)]
    pod_sc, container_sc = security(spec)
    script = network_script(spec)
    pod_labels = labels(ctx.settings, name)
    template = {
        # The script's hash in the template: a changed script replaces (re-runs) the Job.
        "metadata": pod_metadata(pod_labels, spec, {"mlops/script-sha256": hashlib.sha256(script.encode()).hexdigest()}),
        "spec": {
            "restartPolicy": "OnFailure",
            "automountServiceAccountToken": False,
            "securityContext": pod_sc,
            "containers": [
                {
                    "name": "bootstrap",
                    "image": image_ref(ctx.settings, spec.image),
                    "command": ["sh", "-c", script],
                    "env": env,
                    "resources": memory(spec),
                    "securityContext": container_sc,
                }
            ],
        },
    }
    return k8s.batch.v1.Job(
        ctx.urn_name(spec.name, "bootstrap"),
        metadata=ctx.metadata(name, spec.name),
        spec={"backoffLimit": 6, "template": template},
        opts=ctx.opts([*after, env_secret], replace_on_changes=["spec"], delete_before_replace=True),
    )
