"""The Kubernetes target's entry: render the catalog into one namespace per stack and export outputs.

The cluster comes from the `kubernetes:` provider config (kubeconfig/context).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import Catalog
from ...image_refs import image_ref
from ...outputs import stack_credentials, stack_urls
from ...secrets import PlatformSecrets
from ...settings import PROJECT, PlatformSettings
from . import network, observability, plan, scaling
from .addons import install_cluster_addons
from .bootstrap import bootstrap_job, job_name
from .common import KubeContext, labels
from .config import service_config
from .edge import deploy_edge
from .migration import migration_job
from .migration import job_name as migration_job_name
from .workloads import workload


@dataclass
class KubeService:
    """One rendered catalog entry; `ready` is what dependents wait for."""

    name: str
    workload: pulumi.CustomResource
    service: pulumi.Resource
    policy: pulumi.Resource | None
    image_ref: str
    bootstrap: pulumi.Resource | None = None

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.workload] + ([self.bootstrap] if self.bootstrap else [])


def namespace_name(settings: PlatformSettings) -> str:
    try:
        return settings.kubernetes.namespace_for(settings.stack)
    except ValueError as exc:
        raise pulumi.RunError(f"{PROJECT}:kubernetes.namespace: {exc}; set kubernetes.namespace") from None


def namespace(settings: PlatformSettings) -> k8s.core.v1.Namespace:
    name = namespace_name(settings)
    pod_security = {
        # Some images start as root (plan.IMAGE_USERS), so `restricted` is warned about, `baseline` enforced.
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    return k8s.core.v1.Namespace(
        f"{settings.prefix}-namespace",
        metadata={"name": name, "labels": {**labels(settings), **pod_security}},
        opts=pulumi.ResourceOptions(protect=settings.protectData, retain_on_delete=settings.protectData),
    )


def deploy(catalog: Catalog, settings: PlatformSettings, secrets: PlatformSecrets) -> dict[str, KubeService]:
    names = plan.rendered(catalog)
    catalog = observability.kubernetes_catalog(catalog, settings, namespace_name(settings), names)
    ns = namespace(settings)
    ctx = KubeContext(settings, catalog, namespace_name(settings), ns)
    ports = plan.service_ports(catalog, names)
    edges = plan.allowed_edges(catalog, names)
    network.namespace_policies(ctx)
    addons = install_cluster_addons(settings)  # cluster-wide; empty unless kubernetes.installClusterAddons
    accounts = observability.deploy(ctx, names)
    services: dict[str, KubeService] = {}
    for name in names:
        spec = catalog.services[name]
        waits_for = [r for dep in plan.dependencies(catalog, name) for r in services[dep].ready]
        account = accounts.get(name)
        cfg = service_config(ctx, spec)
        if spec.migration:  # the new version's pods start only after their data is migrated
            job_policy = network.pod_policy(ctx, migration_job_name(name), edges)
            waits_for = [*waits_for, migration_job(ctx, spec, [*waits_for, *cfg.resources, *filter(None, [job_policy])])]
        svc = KubeService(
            name=name,
            workload=workload(
                ctx, spec, cfg, ports[name], waits_for + (account.grants if account else []),
                account.service_account if account else None,
            ),
            service=network.service(ctx, spec, ports[name]),
            policy=network.pod_policy(ctx, name, edges, spec.public.port if spec.public else None),
            image_ref=image_ref(settings, spec.image),
        )
        if plan.bootstrap_job_of(spec):
            job_policy = network.pod_policy(ctx, job_name(name), edges)
            after = [svc.workload, svc.service] + ([svc.policy, job_policy] if svc.policy else [job_policy])
            svc.bootstrap = bootstrap_job(ctx, spec, after)
        scaling.autoscale(ctx, spec, svc.workload, addons.keda)
        services[name] = svc
    deploy_edge(ctx, secrets, {n: s.service for n, s in services.items()}, addons)
    pulumi.export("urls", stack_urls(settings, catalog))
    pulumi.export("namespace", ctx.namespace)
    pulumi.export("images", {n: s.image_ref for n, s in sorted(services.items())})
    pulumi.export("workloads", {n: [s.workload._name] for n, s in sorted(services.items())})
    pulumi.export("skipped", dict(sorted(plan.SKIPPED.items())))
    pulumi.export("credentials", stack_credentials(catalog, secrets))
    return services
