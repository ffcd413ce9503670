"""The k8s-staging stack as the real program registers it under Pulumi's mock runtime."""

from __future__ import annotations

import pytest

from infra.assembly import offline_catalog
from infra.targets.kubernetes import plan
from tests.infra.harness import plain_text_secrets

from .harness import STACK, manifest, run_k8s_stack

NAMESPACE = "mlops-k8s-staging"
#: The Docker-host-only services this step leaves out (see infra/targets/kubernetes/plan.py::SKIPPED).
SKIPPED = {"proxy", "acme", "cadvisor", "volume-usage", "postgres-backup", "object-backup",
           "docker-gen", "socket-proxy", "socket-proxy-edge"}
#: Rendered once per node in a namespace of its own (infra/targets/kubernetes/observability.py).
DAEMONSETS = {"node-exporter"}
NODE_NAMESPACE = "mlops-k8s-staging-node-exporter"
#: Pods that read the Kubernetes API, each under its own ServiceAccount (the others get no token).
API_READERS = {"prometheus", "alloy"}
#: service -> the claims its StatefulSet templates (the catalog's stateful volumes; PostgreSQL's
#: `backups` holds its WAL archive when the stack sets no backup.target).
STATEFUL = {
    "postgres": ["postgres", "backups"], "rabbitmq": ["rabbitmq"], "minio": ["minio"], "prometheus": ["prometheus"],
    "loki": ["loki"], "tempo": ["tempo"], "mimir": ["mimir"], "grafana": ["grafana"], "alertmanager": ["alertmanager"],
}  # fmt: skip
STATELESS = {"mlflow", "postgres-exporter", "blackbox", "api", "processor", "ui", "alloy"}
#: What each workload waits for: the catalog's dependency edges, minus the skipped edge services.
WAITS_FOR = {
    "postgres": set(), "rabbitmq": set(), "minio": set(), "mlflow": {"postgres", "minio"},
    "prometheus": set(), "loki": set(), "tempo": set(), "mimir": set(), "grafana": set(),
    "postgres-exporter": {"postgres"}, "blackbox": set(), "api": {"postgres", "rabbitmq"},
    "processor": {"postgres", "rabbitmq"}, "ui": set(), "alertmanager": set(), "alloy": set(),
}  # fmt: skip


def stack_catalog():
    """The catalog the stack file describes, with placeholder secrets."""
    from tests.infra.harness import stack_file_config

    prefix = "mlops-platform:"
    config = {k[len(prefix) :]: v for k, v in stack_file_config(STACK).items() if k.startswith(prefix)}
    return offline_catalog(STACK, config)[1]


def workloads(run) -> dict[str, dict]:
    return {
        manifest(r)["metadata"]["name"]: manifest(r)
        for r in run.resources
        if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
    }


def container(run, service: str) -> dict:
    (c,) = workloads(run)[service]["spec"]["template"]["spec"]["containers"]
    return c


def test_every_catalog_service_is_rendered_or_in_the_documented_skip_list(run):
    catalog = stack_catalog()
    assert set(plan.SKIPPED) == SKIPPED
    assert all(len(reason) > 30 for reason in plan.SKIPPED.values())
    daemonsets = {manifest(r)["metadata"]["name"] for r in run.resources if r.type == "kubernetes:apps/v1:DaemonSet"}
    assert daemonsets == DAEMONSETS
    assert set(workloads(run)) == set(catalog.services) - SKIPPED - DAEMONSETS


def test_stateful_services_are_statefulsets_that_retain_their_claims(run):
    kinds = {name: w["kind"] for name, w in workloads(run).items()}
    assert {n for n, k in kinds.items() if k == "StatefulSet"} == set(STATEFUL)
    assert {n for n, k in kinds.items() if k == "Deployment"} == STATELESS
    for name, claims in STATEFUL.items():
        spec = workloads(run)[name]["spec"]
        assert [c["metadata"]["name"] for c in spec["volumeClaimTemplates"]] == claims
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        assert spec["serviceName"] == name


def test_storage_class_and_data_protection_come_from_stack_config():
    config = {"target": "kubernetes", "acmeEmail": "ops@iot64.de", "protectData": True,
              "kubernetes": {"storageClass": "fast-retain"}}  # fmt: skip
    run = run_k8s_stack(config)
    sets = [r for r in run.resources if r.type == "kubernetes:apps/v1:StatefulSet"]
    assert sets and all(r.protect and r.retain_on_delete for r in sets)
    for r in sets:
        for claim in manifest(r)["spec"]["volumeClaimTemplates"]:
            assert claim["spec"]["storageClassName"] == "fast-retain"


def test_staging_does_not_protect_data(run):
    assert not any(r.protect for r in run.resources)


def test_probes_run_the_catalogs_healthcheck(run):
    catalog = stack_catalog()
    for name in workloads(run):
        hc = catalog.services[name].healthcheck
        c = container(run, name)
        if hc is None:
            assert not {"startupProbe", "readinessProbe", "livenessProbe"} & set(c), name
            continue
        assert hc.test[0] == "CMD"
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["exec"]["command"] == list(hc.test[1:]), (name, probe)
            assert c[probe]["periodSeconds"] == 10 and c[probe]["timeoutSeconds"] == 5
        assert c["livenessProbe"]["failureThreshold"] == hc.retries
        assert c["startupProbe"]["failureThreshold"] == 3 + hc.retries  # 30s start period / 10s + retries


def test_memory_requests_and_limits_are_the_catalogs_memory_and_cpu_a_request_only(run):
    catalog = stack_catalog()
    for name in workloads(run):
        spec = catalog.services[name]
        mem = f"{spec.memory_mb}Mi"
        cpu = {"cpu": f"{spec.cpu_millicores}m"} if spec.cpu_millicores else {}
        assert container(run, name)["resources"] == {"requests": {"memory": mem, **cpu}, "limits": {"memory": mem}}, name
    assert container(run, "api")["resources"]["requests"]["cpu"] == "500m"


def test_every_pod_runs_with_runtime_default_seccomp_and_no_privilege_escalation(run):
    for name, w in workloads(run).items():
        pod = w["spec"]["template"]["spec"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        sc = container(run, name)["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["privileged"] is False, name


def test_only_the_api_readers_get_a_service_account_token_each_their_own(run):
    for name, w in workloads(run).items():
        pod = w["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is (name in API_READERS), name
        assert pod.get("serviceAccountName") == (name if name in API_READERS else None), name


def test_pods_run_as_non_root_unless_their_image_is_a_listed_exception(run):
    root = {"rabbitmq", "minio", "mimir"}  # entrypoints that start as root; 0:0 in the catalog
    for name, w in workloads(run).items():
        pod_sc = w["spec"]["template"]["spec"]["securityContext"]
        assert pod_sc["runAsNonRoot"] is (name not in root), name
        if name not in root:
            assert pod_sc["runAsUser"] > 0 and container(run, name)["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container(run, "api") and workloads(run)["api"]["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_every_container_drops_all_capabilities_and_adds_back_only_the_catalogs(run):
    catalog = stack_catalog()
    for name in workloads(run):
        caps = container(run, name)["securityContext"]["capabilities"]
        added = list(catalog.services[name].hardening.cap_add)
        assert caps == ({"drop": ["ALL"], "add": added} if added else {"drop": ["ALL"]}), name


def test_root_filesystems_are_read_only_where_the_catalog_says_with_its_tmpfs_as_memory_volumes(run):
    catalog = stack_catalog()
    for name in workloads(run):
        h = catalog.services[name].hardening
        c = container(run, name)
        assert c["securityContext"]["readOnlyRootFilesystem"] is h.read_only, name
        volumes = {v["name"]: v for v in workloads(run)[name]["spec"]["template"]["spec"]["volumes"]}
        for path, _ in h.tmpfs:
            mount = next(m for m in c["volumeMounts"] if m["mountPath"] == path)
            assert volumes[mount["name"]]["emptyDir"]["medium"] == "Memory", (name, path)
    assert container(run, "api")["securityContext"]["readOnlyRootFilesystem"] is True


def test_docker_command_becomes_container_args_keeping_the_entrypoint(run):
    catalog = stack_catalog()
    assert container(run, "prometheus")["args"] == list(catalog.services["prometheus"].command)
    assert "command" not in container(run, "prometheus")
    assert "args" not in container(run, "api")


def test_config_files_are_mounted_from_a_configmap_and_secret_files_from_a_secret(run):
    mounts = {m["mountPath"]: m for m in container(run, "grafana")["volumeMounts"]}
    assert mounts["/etc/grafana/provisioning/datasources/platform.yaml"]["name"] == "config-files"
    assert mounts["/run/secrets/grafana_admin_password"]["name"] == "secret-files"
    volumes = {v["name"]: v for v in workloads(run)["grafana"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config-files"]["configMap"]["name"] == "grafana-config"
    assert volumes["secret-files"]["secret"]["secretName"] == "grafana-files"
    secrets = {manifest(r)["metadata"]["name"]: r for r in run.resources if r.type == "kubernetes:core/v1:Secret"}
    keys = set(manifest(secrets["grafana-files"])["stringData"])
    assert keys == {"run__secrets__grafana_admin_password"}


def test_secret_env_is_read_from_a_secret_never_written_into_the_pod_spec(run):
    env = {e["name"]: e for e in container(run, "api")["env"]}
    for key in ("DATABASE_URL", "AMQP_URL", "AWS_SECRET_ACCESS_KEY", "API_TOKEN"):
        assert env[key] == {"name": key, "valueFrom": {"secretKeyRef": {"name": "api-env", "key": key}}}
    assert env["MLFLOW_TRACKING_URI"] == {"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow:5000"}


def test_no_generated_secret_appears_in_plain_text(run):
    assert plain_text_secrets(run) == []


def test_generated_secrets_do_reach_their_secret_objects(run):
    """The plain-text check above must not pass because the values are missing."""
    secrets = {manifest(r)["metadata"]["name"]: r for r in run.resources if r.type == "kubernetes:core/v1:Secret"}
    data = manifest(secrets["api-env"])["stringData"]
    assert "mock-secret-mlops-platform-k8s-staging-apiToken-Zq8" == data["API_TOKEN"]


def test_workloads_wait_for_exactly_their_catalog_dependencies(run):
    by_urn = {r.urn: r for r in run.resources}
    for name, w in workloads(run).items():
        res = next(r for r in run.resources if r.type.endswith(w["kind"]) and manifest(r)["metadata"]["name"] == name)
        deps = [by_urn[u] for u in res.dependencies]
        waited = {manifest(d)["metadata"]["name"] for d in deps if d.type.startswith("kubernetes:apps/")}
        assert waited == WAITS_FOR[name], name


def test_every_namespaced_object_lives_in_the_stacks_namespace(run):
    kube = [manifest(r) for r in run.resources if r.type.startswith("kubernetes:")]
    namespaces = {m["metadata"]["name"]: m for m in kube if m["kind"] == "Namespace"}
    assert set(namespaces) == {NAMESPACE, NODE_NAMESPACE}
    assert namespaces[NAMESPACE]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    elsewhere = {(m["kind"], m["metadata"].get("namespace")) for m in kube if m["kind"] != "Namespace"
                 and m["metadata"].get("namespace") != NAMESPACE}  # fmt: skip
    # node-exporter's namespace holds its DaemonSet, policies and Prometheus' pod-reading grant; the
    # kubelet grant is cluster-scoped (infra/targets/kubernetes/observability.py).
    assert elsewhere == {("DaemonSet", NODE_NAMESPACE), ("NetworkPolicy", NODE_NAMESPACE), ("Role", NODE_NAMESPACE),
                         ("RoleBinding", NODE_NAMESPACE), ("ClusterRole", None), ("ClusterRoleBinding", None)}  # fmt: skip


def test_namespace_can_be_set_per_stack():
    run = run_k8s_stack({"target": "kubernetes", "acmeEmail": "ops@iot64.de", "kubernetes": {"namespace": "ml"}})
    found = {manifest(r)["metadata"].get("namespace", "ml") for r in run.resources if r.type.startswith("kubernetes:")}
    assert found == {"ml", "ml-node-exporter"}


@pytest.mark.parametrize("replicas", [2, 3])
def test_api_runs_the_configured_minimum_of_replicas(replicas):
    config = {"target": "kubernetes", "acmeEmail": "ops@iot64.de",
              "kubernetes": {"api": {"minReplicas": replicas, "maxReplicas": 6}}}  # fmt: skip
    assert workloads(run_k8s_stack(config))["api"]["spec"]["replicas"] == replicas


def test_services_expose_every_port_clients_address(run):
    ports = {
        manifest(r)["metadata"]["name"]: {p["port"] for p in manifest(r)["spec"]["ports"]}
        for r in run.resources
        if r.type == "kubernetes:core/v1:Service"
    }
    assert ports["tempo"] == {3200, 4318}  # 4318: OTLP, addressed by the API and the processor
    assert ports["rabbitmq"] == {5672, 15672, 15692}
    assert ports["processor"] == {9100}
    assert set(ports) == set(workloads(run))


def test_outputs_have_the_docker_targets_shape(run):
    assert run.output("urls")["api"] == "https://api.staging.mlops.dns64.de/"
    assert set(run.output("credentials")) >= {"grafana", "rabbitmq", "minio", "api"}
    assert set(run.output("skipped")) == SKIPPED
    assert run.output("namespace") == NAMESPACE


def test_the_stack_file_targets_kubernetes():
    from tests.infra.harness import stack_file_config

    assert stack_file_config(STACK)["mlops-platform:target"] == "kubernetes"
