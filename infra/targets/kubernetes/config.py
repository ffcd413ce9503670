"""Config files as ConfigMaps, secret files and secret env as Secrets.

Secret values are the same pulumi-random Outputs the Docker target uses; they
only ever travel inside `Output.secret`, so state and previews keep them encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import ServiceSpec
from ...values import is_output
from .common import KubeContext, file_key


@dataclass
class ServiceConfig:
    """What a workload mounts and reads: volumes, mounts and env entries for its container."""

    volumes: list[dict] = field(default_factory=list)
    mounts: list[dict] = field(default_factory=list)
    env: list[dict] = field(default_factory=list)
    resources: list[pulumi.Resource] = field(default_factory=list)


def config_name(service: str) -> str:
    return f"{service}-config"


def files_secret_name(service: str) -> str:
    return f"{service}-files"


def env_secret_name(service: str) -> str:
    return f"{service}-env"


def _files_object(ctx: KubeContext, spec: ServiceSpec, secret: bool, cfg: ServiceConfig) -> None:
    files = [f for f in spec.files if f.secret == secret]
    if not files:
        return
    data = {file_key(f.path): f.content for f in files}
    volume = "secret-files" if secret else "config-files"
    if secret:
        name = files_secret_name(spec.name)
        res = k8s.core.v1.Secret(
            ctx.urn_name(spec.name, "files"),
            metadata=ctx.metadata(name, spec.name),
            type="Opaque",
            string_data=pulumi.Output.secret(data),
            opts=ctx.opts(),
        )
        # 0444 like Docker's uploads: entrypoints that drop from root to a service user still read them.
        cfg.volumes.append({"name": volume, "secret": {"secretName": name, "defaultMode": 0o444}})
    else:
        name = config_name(spec.name)
        res = k8s.core.v1.ConfigMap(
            ctx.urn_name(spec.name, "config"), metadata=ctx.metadata(name, spec.name), data=data, opts=ctx.opts()
        )
        cfg.volumes.append({"name": volume, "configMap": {"name": name}})
    cfg.resources.append(res)
    # subPath keeps each file at its catalog path without hiding the rest of its directory.
    cfg.mounts += [
        {"name": volume, "mountPath": f.path, "subPath": file_key(f.path), "readOnly": True} for f in files
    ]


def _env(ctx: KubeContext, spec: ServiceSpec, cfg: ServiceConfig) -> None:
    """Literal env stays in the pod spec; secret env and any Output (secret or not) go to a Secret."""
    hidden = {**{k: v for k, v in spec.env.items() if is_output(v)}, **spec.secret_env}
    for key, value in sorted(spec.env.items()):
        if key not in hidden:
            cfg.env.append({"name": key, "value": str(value)})
    if not hidden:
        return
    name = env_secret_name(spec.name)
    cfg.resources.append(
        k8s.core.v1.Secret(
            ctx.urn_name(spec.name, "env"),
            metadata=ctx.metadata(name, spec.name),
            type="Opaque",
            string_data=pulumi.Output.secret(dict(hidden)),
            opts=ctx.opts(),
        )
    )
    cfg.env += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}} for key in sorted(hidden)
    ]


def service_config(ctx: KubeContext, spec: ServiceSpec) -> ServiceConfig:
    cfg = ServiceConfig()
    _files_object(ctx, spec, secret=False, cfg=cfg)
    _files_object(ctx, spec, secret=True, cfg=cfg)
    _env(ctx, spec, cfg)
    return cfg

