"""Scale-out: the Pipeline API on CPU (HorizontalPodAutoscaler), the Data Processor on queue depth (KEDA).

Bounds and targets are the stack's `kubernetes.api` / `kubernetes.processor` settings.

The autoscalers own `spec.replicas`. The Deployments set it once, at creation (so the API starts
at its minimum, not at the API server's default of 1), and list it in `ignore_changes`:
with server-side apply pulumi-kubernetes then drops the field from its patch once another field
manager (the HPA controller, writing through the `scale` subresource) holds it, so an update
neither resets the replica count nor fails on a field conflict (pulumi/pulumi-kubernetes#2566,
in 4.2.0 and later; the conflict it fixes: #2491, #2569). A changed minimum therefore reaches
the cluster through the autoscaler's bounds, never through the Deployment.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import ServiceSpec
from . import network, plan
from .common import KubeContext, selector

#: The workloads an autoscaler sizes; `workloads.workload` leaves their replica count alone.
AUTOSCALED = tuple(plan.AUTOSCALED)
#: What `workloads.workload` ignores on autoscaled Deployments after creation.
REPLICAS_FIELD = "spec.replicas"

#: KEDA release the ScaledObject and TriggerAuthentication are written for (2026-07-31, the newest
#: tag in late 2026). Fields read at that tag: apis/keda/v1alpha1/scaledobject_types.go
#: (ScaledObjectSpec: scaleTargetRef, minReplicaCount, maxReplicaCount, triggers),
#: scaletriggers_types.go (type, metadata map[string]string, authenticationRef.name),
#: triggerauthentication_types.go (secretTargetRef: parameter, name, key) and
#: pkg/scalers/rabbitmq_scaler.go (metadata `mode` QueueLength, `value`, `queueName`, `protocol`;
#: `host` read from triggerMetadata, authParams or resolvedEnv).
KEDA_VERSION = "v2.20.2"
#: Where KEDA's operator runs and how its pods are labelled (config/manager/manager.yaml at v2.20.2:
#: namespace `keda`, pod label `app: keda-operator`). Its scaler connects to RabbitMQ's AMQP port.
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR_LABELS = {"app": "keda-operator"}
#: The processor's queue: app/common/pipeline_common/queue.py::queue_names -> "<QUEUE_PREFIX>.jobs".
JOBS_QUEUE_SUFFIX = ".jobs"


def initial_replicas(ctx: KubeContext, spec: ServiceSpec) -> int:
    """Replicas at creation: the autoscaler's minimum, or the catalog's count."""
    k = ctx.settings.kubernetes
    if spec.name == "api":
        return k.api.minReplicas
    if spec.name == "processor":
        return k.processor.minReplicas
    return spec.replicas


def jobs_queue(spec: ServiceSpec) -> str:
    """The queue the processor consumes, from the same QUEUE_PREFIX its container reads."""
    return f"{spec.env['QUEUE_PREFIX']}{JOBS_QUEUE_SUFFIX}"


def cpu_request(spec: ServiceSpec) -> str:
    if spec.cpu_millicores is None:
        raise ValueError(f"{spec.name}: a CPU autoscaler needs a CPU request (set cpu_millicores in the catalog)")
    return f"{spec.cpu_millicores}m"


def api_scaling(ctx: KubeContext, spec: ServiceSpec, workload: pulumi.Resource) -> list[pulumi.Resource]:
    """PodDisruptionBudget and CPU HorizontalPodAutoscaler of the Pipeline API."""
    cfg = ctx.settings.kubernetes.api
    cpu_request(spec)  # utilisation is measured against the request: fail here, not silently in the cluster
    pdb = k8s.policy.v1.PodDisruptionBudget(
        ctx.urn_name(spec.name, "pdb"),
        metadata=ctx.metadata(spec.name, spec.name),
        spec={
            "selector": {"matchLabels": selector(spec.name)},
            # maxUnavailable, not minAvailable 1: a drain evicts one API pod at a time however far the HPA
            # has scaled out (minAvailable 1 would let it evict all but one of six); at the minimum of 2
            # both say the same.
            "maxUnavailable": 1,
            # A pod that is not ready serves nothing; evicting it must not block a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
        opts=ctx.opts([workload]),
    )
    hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
        ctx.urn_name(spec.name, "hpa"),
        metadata=ctx.metadata(spec.name, spec.name),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": cfg.minReplicas,
            "maxReplicas": cfg.maxReplicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cfg.targetCpuPercent}},
                }
            ],
        },
        opts=ctx.opts([workload]),
    )
    return [pdb, hpa]


def keda_secret_name(service: str) -> str:
    return f"{service}-keda"


def namespaced_url(url: str, service: str, namespace: str) -> str:
    """`url` with its host, the Service `service`, as `<service>.<namespace>.svc`.

    KEDA's scalers dial from the operator's pod in its own namespace, where the catalog's short name
    does not resolve. The qualified name does from any namespace through the search list ClusterFirst
    gives every pod (`<ns>.svc.<domain> svc.<domain> <domain>`, Kubernetes "DNS for Services and Pods"),
    so it needs no assumption about the cluster domain; KEDA's chart keeps ClusterFirst
    (kedacore/charts v2.20.2 keda/values.yaml `operator.dnsPolicy`).
    """
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":")
    if not sep or host != service:
        raise ValueError(f"AMQP_URL: host '{host}' is not the {service} service")
    return f"{scheme}://{userinfo}{at}{service}.{namespace}.svc{colon}{port}{slash}{path}"


def processor_scaling(
    ctx: KubeContext, spec: ServiceSpec, workload: pulumi.Resource, keda: list[pulumi.Resource]
) -> list[pulumi.Resource]:
    """KEDA ScaledObject on the jobs queue's length, authenticated by a Secret holding the AMQP URL.

    The URL is the catalog's `AMQP_URL`, the same Output (from the pulumi-random password) the
    processor reads, with the broker's namespace-qualified name, so a password rotation reaches both. Its own Secret holds only that key, so
    KEDA is pointed at nothing else the processor holds.
    """
    cfg = ctx.settings.kubernetes.processor
    secret_name = keda_secret_name(spec.name)
    secret = k8s.core.v1.Secret(
        ctx.urn_name(spec.name, "keda-secret"),
        metadata=ctx.metadata(secret_name, spec.name),
        type="Opaque",
        string_data=pulumi.Output.secret(
            {"host": pulumi.Output.from_input(spec.secret_env["AMQP_URL"]).apply(lambda u: namespaced_url(u, "rabbitmq", ctx.namespace))}
        ),
        opts=ctx.opts(),
    )
    auth = k8s.apiextensions.CustomResource(
        ctx.urn_name(spec.name, "trigger-auth"),
        api_version="keda.sh/v1alpha1",
        kind="TriggerAuthentication",
        metadata=ctx.metadata(spec.name, spec.name),
        spec={"secretTargetRef": [{"parameter": "host", "name": secret_name, "key": "host"}]},
        opts=ctx.opts([secret, *keda]),  # KEDA's CRDs first when the program installs KEDA
    )
    scaled = k8s.apiextensions.CustomResource(
        ctx.urn_name(spec.name, "scaledobject"),
        api_version="keda.sh/v1alpha1",
        kind="ScaledObject",
        metadata=ctx.metadata(spec.name, spec.name),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            # Idle (an empty queue) scales down to the minimum; 0 lets KEDA stop every worker.
            "minReplicaCount": cfg.minReplicas,
            "maxReplicaCount": cfg.maxReplicas,
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        # AMQP: a passive queue declare reads the ready-message count (no management API).
                        "protocol": "amqp",
                        "mode": "QueueLength",
                        "value": str(cfg.messagesPerReplica),  # metadata is map[string]string
                        "queueName": jobs_queue(spec),
                    },
                    "authenticationRef": {"name": spec.name},
                }
            ],
        },
        opts=ctx.opts([workload, auth, *keda]),
    )
    return [secret, auth, scaled]


def keda_policy(ctx: KubeContext, rabbitmq: ServiceSpec) -> pulumi.Resource:
    """KEDA's operator reads the queue length over AMQP: its namespace may reach RabbitMQ's AMQP port."""
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KEDA_NAMESPACE}},
        "podSelector": {"matchLabels": KEDA_OPERATOR_LABELS},
    }
    rule = {"from": [peer], "ports": [{"protocol": "TCP", "port": rabbitmq.port}]}
    return network.peer_policy(ctx, "keda", rabbitmq.name, ingress=[rule])


def autoscale(
    ctx: KubeContext, spec: ServiceSpec, workload: pulumi.Resource, keda: list[pulumi.Resource] = ()
) -> list[pulumi.Resource]:
    """`keda`: the KEDA release when the program installs cluster add-ons (its CRDs come first)."""
    if spec.name == "api":
        return api_scaling(ctx, spec, workload)
    if spec.name == "processor":
        return [*processor_scaling(ctx, spec, workload, list(keda)), keda_policy(ctx, ctx.catalog.services["rabbitmq"])]
    return []
