"""Scale-out on Kubernetes: the API's HPA and PDB, the processor's KEDA ScaledObject (infra/targets/kubernetes/scaling.py)."""

from __future__ import annotations

import jsonschema
import pytest

from infra.targets.kubernetes import scaling
from tests.infra.harness import SECRET_SIG, plain_text_secrets

from .harness import manifest, run_k8s_stack
from .test_k8s_stack import workloads
from .test_network_policies import policies

BASE = {"target": "kubernetes", "acmeEmail": "ops@iot64.de"}


def objects(run, kind: str) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in (manifest(r) for r in run.resources if r.type.startswith("kubernetes:")) if m["kind"] == kind}


def registered(run, kind: str, name: str):
    return next(r for r in run.resources if r.type.endswith(f":{kind}") and manifest(r)["metadata"]["name"] == name)


def with_scaling(api: dict | None = None, processor: dict | None = None) -> dict:
    k = {**({"api": api} if api else {}), **({"processor": processor} if processor else {})}
    return {**BASE, "kubernetes": k}


# ---------------------------------------------------------------- Pipeline API


@pytest.mark.parametrize("api", [{"minReplicas": 2, "maxReplicas": 6, "targetCpuPercent": 70},
                                 {"minReplicas": 3, "maxReplicas": 10, "targetCpuPercent": 55}])  # fmt: skip
def test_the_api_hpa_bounds_and_cpu_target_come_from_stack_config(api):
    hpa = objects(run_k8s_stack(with_scaling(api=api)), "HorizontalPodAutoscaler")["api"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (api["minReplicas"], api["maxReplicas"])
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": api["targetCpuPercent"]}}


def test_the_hpa_scales_the_api_deployment_whose_container_requests_the_catalogs_cpu(run):
    hpa = objects(run, "HorizontalPodAutoscaler")["api"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert workloads(run)["api"]["kind"] == "Deployment"
    (container,) = workloads(run)["api"]["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["cpu"] == "500m"  # infra/services/application/api.py: cpu_millicores


def test_a_cpu_autoscaler_without_a_cpu_request_is_refused():
    from infra.assembly import offline_catalog

    spec = offline_catalog("k8s-staging", BASE)[1].services["processor"]  # the catalog gives it no CPU
    with pytest.raises(ValueError, match="processor: a CPU autoscaler needs a CPU request"):
        scaling.cpu_request(spec)


def test_the_api_pdb_lets_a_drain_evict_one_api_pod_at_a_time(run):
    pdb = objects(run, "PodDisruptionBudget")["api"]
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    labels = workloads(run)["api"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


# ---------------------------------------------------------------- Replicas belong to the autoscalers


@pytest.mark.parametrize("service, key", [("api", "api"), ("processor", "processor")])
def test_autoscaled_deployments_are_created_at_the_minimum_and_never_reset_replicas(service, key):
    """pulumi-kubernetes (server-side apply) drops an `ignoreChanges` field from its patch once another
    manager owns it (pulumi/pulumi-kubernetes#2566): without it an update resets the HPA's count or
    fails on a field conflict with kube-controller-manager (#2491, #2569)."""
    bounds = {"minReplicas": 3, "maxReplicas": 9}
    run = run_k8s_stack(with_scaling(**{key: bounds}))
    deployment = registered(run, "Deployment", service)
    assert manifest(deployment)["spec"]["replicas"] == 3
    assert deployment.ignore_changes == ["spec.replicas"]


def test_only_autoscaled_workloads_ignore_replica_changes(run):
    ignoring = {manifest(r)["metadata"]["name"] for r in run.resources if "spec.replicas" in r.ignore_changes}
    assert ignoring == {"api", "processor"}


# ---------------------------------------------------------------- Data Processor (KEDA)


@pytest.mark.parametrize("processor", [{"minReplicas": 1, "maxReplicas": 8, "messagesPerReplica": 5},
                                       {"minReplicas": 0, "maxReplicas": 3, "messagesPerReplica": 40}])  # fmt: skip
def test_keda_bounds_and_messages_per_replica_come_from_stack_config(processor):
    scaled = objects(run_k8s_stack(with_scaling(processor=processor)), "ScaledObject")["processor"]
    spec = scaled["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (processor["minReplicas"], processor["maxReplicas"])
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert trigger["metadata"]["value"] == str(processor["messagesPerReplica"])


def test_keda_watches_the_queue_the_processor_consumes(run):
    from pipeline_common.queue import queue_names  # app/common, on sys.path via tests/conftest.py

    prefix = {e["name"]: e.get("value") for e in workloads(run)["processor"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    (trigger,) = objects(run, "ScaledObject")["processor"]["spec"]["triggers"]
    assert trigger["metadata"]["queueName"] == queue_names(prefix["QUEUE_PREFIX"])["jobs"]
    assert objects(run, "ScaledObject")["processor"]["spec"]["scaleTargetRef"]["name"] == "processor"


def test_the_trigger_authentication_reads_the_processors_amqp_url_from_a_secret(run):
    auth = objects(run, "TriggerAuthentication")["processor"]
    (ref,) = auth["spec"]["secretTargetRef"]
    assert ref["parameter"] == "host"
    secret = objects(run, "Secret")[ref["name"]]
    assert list(secret["stringData"]) == [ref["key"]]
    assert secret["stringData"][ref["key"]].startswith("amqp://pipeline:mock-secret-")
    (trigger,) = objects(run, "ScaledObject")["processor"]["spec"]["triggers"]
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}


@pytest.mark.parametrize("namespace", [None, "pipelines"])
def test_keda_reaches_rabbitmq_by_its_namespace_qualified_name_with_the_processors_credentials(namespace):
    """KEDA's scalers run in the operator's pod (namespace `keda`), where the short name `rabbitmq` does not
    resolve: `<service>.<namespace>.svc` does from any namespace through the pod's search list, whatever the
    cluster domain. The processor, in the stack's namespace, keeps the short name."""
    config = {**BASE, "kubernetes": {"namespace": namespace}} if namespace else BASE
    run = run_k8s_stack(config)
    expected_ns = namespace or "mlops-k8s-staging"
    keda_url = objects(run, "Secret")["processor-keda"]["stringData"]["host"]
    processor_url = objects(run, "Secret")["processor-env"]["stringData"]["AMQP_URL"]
    assert "@rabbitmq:5672/" in processor_url
    assert keda_url == processor_url.replace("@rabbitmq:5672/", f"@rabbitmq.{expected_ns}.svc:5672/")


def test_only_the_host_of_the_amqp_url_is_qualified():
    url = "amqp://pipeline:p%40ss:rabbitmq@rabbitmq:5672/pipeline"
    assert scaling.namespaced_url(url, "rabbitmq", "ns") == "amqp://pipeline:p%40ss:rabbitmq@rabbitmq.ns.svc:5672/pipeline"
    with pytest.raises(ValueError, match="AMQP_URL: host 'broker' is not the rabbitmq service"):
        scaling.namespaced_url("amqp://u:p@broker:5672/v", "rabbitmq", "ns")


def test_the_amqp_url_never_appears_in_plain_text_in_any_resource_input(run):
    url = objects(run, "Secret")["processor-keda"]["stringData"]["host"]
    password = url.split(":")[2].split("@")[0]
    assert plain_text_secrets(run, [url, password]) == []
    raw = registered(run, "Secret", "processor-keda").raw["stringData"]
    assert SECRET_SIG in raw  # the whole stringData travels as a secret


#: KEDA v2.20.2's field names (scaling.KEDA_VERSION cites the files): objects using any other key, or
#: a non-string trigger metadata value (map[string]string), would be refused or silently ignored.
RABBITMQ_METADATA = {"queueName", "mode", "queueLength", "value", "activationValue", "host", "protocol", "vhostName",
                     "useRegex", "excludeUnacknowledged", "pageSize", "operation", "timeout", "unsafeSsl"}  # fmt: skip
_REF = {"type": "object", "additionalProperties": False}
KEDA_SCHEMAS = {
    "ScaledObject": {
        **_REF,
        "required": ["scaleTargetRef", "triggers"],
        "properties": {
            "scaleTargetRef": {**_REF, "required": ["name"], "properties": {k: {"type": "string"} for k in
                               ("name", "apiVersion", "kind", "envSourceContainerName")}},  # fmt: skip
            **{k: {"type": "integer", "minimum": 0} for k in
               ("pollingInterval", "initialCooldownPeriod", "cooldownPeriod", "idleReplicaCount", "minReplicaCount")},  # fmt: skip
            "maxReplicaCount": {"type": "integer", "minimum": 1},
            "advanced": {"type": "object"},
            "fallback": {"type": "object"},
            "triggers": {"type": "array", "minItems": 1, "items": {
                **_REF, "required": ["type", "metadata"],
                "properties": {
                    "type": {"const": "rabbitmq"}, "name": {"type": "string"}, "useCachedMetrics": {"type": "boolean"},
                    "metricType": {"type": "string"},
                    "metadata": {"type": "object", "propertyNames": {"enum": sorted(RABBITMQ_METADATA)},
                                 "additionalProperties": {"type": "string"}},
                    "authenticationRef": {**_REF, "required": ["name"], "properties": {"name": {"type": "string"}, "kind": {"type": "string"}}},
                }}},  # fmt: skip
        },
    },
    "TriggerAuthentication": {
        **_REF,
        "properties": {"secretTargetRef": {"type": "array", "items": {
            **_REF, "required": ["parameter", "name", "key"],
            "properties": {k: {"type": "string"} for k in ("parameter", "name", "key")}}}},  # fmt: skip
    },
}


@pytest.mark.parametrize("kind", sorted(KEDA_SCHEMAS))
def test_keda_objects_use_only_fields_keda_reads(run, kind):
    (obj,) = objects(run, kind).values()
    assert obj["apiVersion"] == "keda.sh/v1alpha1"
    jsonschema.validate(obj["spec"], KEDA_SCHEMAS[kind])


def test_the_keda_field_check_rejects_a_misspelt_key(run):
    broken = dict(objects(run, "ScaledObject")["processor"]["spec"], minReplicas=1)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, KEDA_SCHEMAS["ScaledObject"])


def test_only_kedas_operator_namespace_may_reach_rabbitmq_and_only_its_amqp_port(run):
    (pol,) = [p for p in policies(run) if p["metadata"]["name"] == "rabbitmq-keda"]
    assert pol["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "rabbitmq"}}
    assert pol["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = pol["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5672}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
                             "podSelector": {"matchLabels": {"app": "keda-operator"}}}]  # fmt: skip
