"""The policy pack's Kubernetes rules: the rendered k8s-staging stack passes every rule, and each
rule rejects a resource broken on purpose.

Properties reach the rules as pulumi-policy 1.21.0 hands them over: the message as the engine sends
it (the mock monitor's recording), `deserialize_properties`, then `unknown_checking_proxy`
(pulumi_policy/policy.py `Analyze` and `AnalyzeStack`), so Mapping/Sequence proxies, not dicts.
"""

from __future__ import annotations

import copy
import runpy
import sys
from pathlib import Path

import pulumi_policy
import pytest
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from infra.targets.kubernetes import observability

from .test_k8s_stack import NAMESPACE, NODE_NAMESPACE, stack_catalog, workloads

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
sys.path.insert(0, str(POLICY_DIR))
import rules  # noqa: E402

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
STACK = "k8s-staging"


def seen(props: dict):
    """Properties as a policy sees them (see the module docstring)."""
    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(props)))


def rendered(run, rtype: str, name: str) -> dict:
    """A copy of one rendered resource's properties (as sent), to break on purpose."""
    (res,) = [r for r in run.resources if r.type == rtype and (r.inputs.get("metadata") or {}).get("name") == name]
    return copy.deepcopy(res.raw)


def pod(props: dict) -> dict:
    return props["spec"]["template"]["spec"]


def first(props: dict) -> dict:
    return pod(props)["containers"][0]


def check(rule: str, rtype: str, props: dict) -> list[str]:
    return rules.K8S_RULES[rule][1](rtype, seen(props), STACK)


def stack_resources(run) -> list[tuple[str, object]]:
    return [(r.type, seen(r.raw)) for r in run.resources]


# -- the rendered stack passes ------------------------------------------------------------------


def test_every_rule_passes_on_the_rendered_k8s_staging_stack(run):
    checked = 0
    for res in run.resources:
        props = seen(res.raw)
        for name, (_, rule) in {**rules.RULES, **rules.K8S_RULES}.items():
            assert rule(res.type, props, run.stack) == [], (name, res.name)
        checked += res.type in (*rules.POD_TEMPLATES, rules.POD, rules.CRON_JOB)
    assert checked == len(workloads(run)) + 4  # and node-exporter's DaemonSet, two bootstrap Jobs and the migration Job
    assert rules.namespaces_deny_by_default(stack_resources(run)) == []
    assert rules.containers_pids_limited(stack_resources(run)) == []  # no Docker containers here


def test_the_stack_rule_sees_both_namespaces_the_stack_creates(run):
    names = [p["metadata"]["name"] for t, p in stack_resources(run) if t == rules.NAMESPACE]
    assert sorted(names) == sorted([NAMESPACE, NODE_NAMESPACE])


def test_root_pods_pass_only_through_the_catalogs_stated_reason(run):
    catalog = stack_catalog()
    for name, w in workloads(run).items():
        if w["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is False:
            reason = catalog.services[name].hardening.exceptions["user"]
            assert w["spec"]["template"]["metadata"]["annotations"]["mlops.exception.user"] == reason, name


def test_catalog_cpu_requests_are_kept_on_kubernetes(run):
    catalog = stack_catalog()
    with_cpu = {n for n in workloads(run) if catalog.services[n].cpu_millicores is not None}
    assert with_cpu  # the API
    for name in with_cpu:
        (c,) = workloads(run)[name]["spec"]["template"]["spec"]["containers"]
        assert c["resources"]["requests"]["cpu"] == f"{catalog.services[name].cpu_millicores}m", name


def test_the_host_path_namespace_is_node_exporters():
    assert observability.node_namespace_name("ns") == "ns" + rules.HOST_PATH_NAMESPACE_SUFFIX


def test_docker_rules_ignore_kubernetes_resources_and_kubernetes_rules_ignore_docker_ones(run):
    broken_pod = rendered(run, DEPLOYMENT, "api")
    pod(broken_pod)["containers"][0] = {"name": "api", "image": "x:latest", "securityContext": {"privileged": True}}
    docker_container = {"name": "x", "privileged": True, "ports": [{"internal": 1}], "memory": 0, "user": "0"}
    for name, (_, rule) in rules.RULES.items():
        assert rule(DEPLOYMENT, seen(broken_pod), STACK) == [], name
    for name, (_, rule) in rules.K8S_RULES.items():
        assert rule(rules.CONTAINER, seen(docker_container), STACK) == [], name
        assert rule(rules.REMOTE_IMAGE, seen({"name": "postgres:latest"}), STACK) == [], name


def test_the_policy_pack_registers_every_kubernetes_rule_as_mandatory(monkeypatch):
    packs = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kw: packs.append(kw))  # the real one serves forever
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    (pack,) = packs
    assert pack["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    names = [p.name for p in pack["policies"]]
    assert len(names) == len(set(names))
    assert set(rules.K8S_RULES) | {"k8s-namespaces-default-deny"} <= set(names)
    stack_policies = {p.name for p in pack["policies"] if isinstance(p, pulumi_policy.StackValidationPolicy)}
    assert stack_policies == {
        "production-volumes-protected", "k8s-namespaces-default-deny", "pids-limited", "non-root-writers-own-their-volumes",
    }  # fmt: skip


# -- memory ---------------------------------------------------------------------------------------


def test_a_container_without_a_memory_limit_is_rejected(run):
    props = rendered(run, DEPLOYMENT, "api")
    del first(props)["resources"]["limits"]
    assert check("k8s-memory-limited", DEPLOYMENT, props)


def test_an_init_container_without_a_memory_limit_is_rejected(run):
    props = rendered(run, DEPLOYMENT, "api")
    pod(props)["initContainers"] = [{"name": "init", "image": "busybox:1.37", "resources": {"requests": {"memory": "16Mi"}}}]
    assert check("k8s-memory-limited", DEPLOYMENT, props)


# -- non-root -------------------------------------------------------------------------------------


def test_a_pod_that_neither_sets_run_as_non_root_nor_a_user_is_rejected(run):
    props = rendered(run, DEPLOYMENT, "api")
    pod(props)["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
    assert check("k8s-non-root", DEPLOYMENT, props)


def test_a_container_running_as_uid_0_is_rejected_even_in_a_non_root_pod(run):
    props = rendered(run, DEPLOYMENT, "api")
    first(props)["securityContext"]["runAsUser"] = 0
    assert check("k8s-non-root", DEPLOYMENT, props)


def test_run_as_non_root_without_a_user_passes(run):
    props = rendered(run, DEPLOYMENT, "api")
    del pod(props)["securityContext"]["runAsUser"]
    assert check("k8s-non-root", DEPLOYMENT, props) == []


def test_a_root_pod_without_the_catalogs_reason_is_rejected(run):
    props = rendered(run, STATEFUL_SET, "rabbitmq")
    assert check("k8s-non-root", STATEFUL_SET, props) == []
    del props["spec"]["template"]["metadata"]["annotations"]["mlops.exception.user"]
    assert check("k8s-non-root", STATEFUL_SET, props)


def test_a_blank_reason_is_no_reason(run):
    props = rendered(run, STATEFUL_SET, "rabbitmq")
    props["spec"]["template"]["metadata"]["annotations"]["mlops.exception.user"] = "  "
    assert check("k8s-non-root", STATEFUL_SET, props)


# -- privileges and capabilities -----------------------------------------------------------------


def test_a_privileged_container_is_rejected(run):
    props = rendered(run, DEPLOYMENT, "api")
    first(props)["securityContext"]["privileged"] = True
    assert check("k8s-not-privileged", DEPLOYMENT, props)


@pytest.mark.parametrize("escalation", [True, None])
def test_a_container_that_may_escalate_privileges_is_rejected(run, escalation):
    """Unset counts as allowed: allowPrivilegeEscalation defaults to true."""
    props = rendered(run, DEPLOYMENT, "api")
    sc = first(props)["securityContext"]
    sc.pop("allowPrivilegeEscalation")
    if escalation is not None:
        sc["allowPrivilegeEscalation"] = escalation
    assert check("k8s-no-privilege-escalation", DEPLOYMENT, props)


@pytest.mark.parametrize("caps", [None, {}, {"drop": ["NET_RAW"]}, {"add": ["NET_ADMIN"]}])
def test_a_container_keeping_default_capabilities_is_rejected(run, caps):
    props = rendered(run, DEPLOYMENT, "api")
    first(props)["securityContext"]["capabilities"] = caps
    assert check("k8s-capabilities-dropped", DEPLOYMENT, props)


def test_added_capabilities_without_the_catalogs_reason_are_rejected(run):
    props = rendered(run, STATEFUL_SET, "rabbitmq")
    assert first(props)["securityContext"]["capabilities"]["add"]  # the catalog's CHOWN DAC_OVERRIDE SETGID SETUID
    assert check("k8s-capabilities-dropped", STATEFUL_SET, props) == []
    del props["spec"]["template"]["metadata"]["annotations"]["mlops.exception.cap_add"]
    assert check("k8s-capabilities-dropped", STATEFUL_SET, props)


# -- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["postgres", "postgres:latest", "ghcr.io/x/api", "registry:5000/x/api"])
def test_an_unpinned_image_is_rejected(run, image):
    props = rendered(run, DEPLOYMENT, "api")
    first(props)["image"] = image
    assert check("k8s-images-pinned", DEPLOYMENT, props)


def test_an_unpinned_init_container_image_is_rejected(run):
    props = rendered(run, DEPLOYMENT, "api")
    pod(props)["initContainers"] = [{"name": "init", "image": "busybox:latest"}]
    assert check("k8s-images-pinned", DEPLOYMENT, props)


@pytest.mark.parametrize("image", ["postgres", "postgres:latest", "x/y:1.2", "registry:5000/x", "x/y@sha256:" + "a" * 64])
def test_docker_and_kubernetes_images_are_pinned_by_the_same_check(run, image):
    props = rendered(run, DEPLOYMENT, "api")
    first(props)["image"] = image
    docker = rules.images_are_pinned(rules.REMOTE_IMAGE, {"name": image}, STACK)
    assert bool(check("k8s-images-pinned", DEPLOYMENT, props)) == bool(docker) == (not rules.is_pinned(image))


# -- host paths -----------------------------------------------------------------------------------


def test_node_exporter_mounts_host_paths_read_only_in_its_own_namespace(run):
    props = rendered(run, DAEMON_SET, "node-exporter")
    assert any("hostPath" in v for v in pod(props)["volumes"])  # so the rules below are not vacuous
    assert check("k8s-host-paths-only-for-node-exporter", DAEMON_SET, props) == []
    assert check("k8s-host-paths-read-only", DAEMON_SET, props) == []


def test_a_host_path_in_the_stack_namespace_is_rejected(run):
    props = rendered(run, DAEMON_SET, "node-exporter")
    props["metadata"]["namespace"] = NAMESPACE
    assert check("k8s-host-paths-only-for-node-exporter", DAEMON_SET, props)


def test_a_host_path_in_an_ordinary_deployment_is_rejected(run):
    props = rendered(run, DEPLOYMENT, "api")
    pod(props)["volumes"].append({"name": "host", "hostPath": {"path": "/var/run"}})
    assert check("k8s-host-paths-only-for-node-exporter", DEPLOYMENT, props)


@pytest.mark.parametrize("read_only", [False, None])
def test_a_writable_host_path_mount_is_rejected(run, read_only):
    props = rendered(run, DAEMON_SET, "node-exporter")
    mount = next(m for m in first(props)["volumeMounts"] if m["name"].startswith("host-"))
    mount.pop("readOnly")
    if read_only is not None:
        mount["readOnly"] = read_only
    assert check("k8s-host-paths-read-only", DAEMON_SET, props)


# -- bare pods and cron jobs are workloads too ---------------------------------------------------


def test_a_bare_pod_and_a_cron_job_are_checked_like_workloads(run):
    template = rendered(run, DEPLOYMENT, "api")["spec"]["template"]
    first_container = template["spec"]["containers"][0]
    first_container["securityContext"]["privileged"] = True
    bare = {"metadata": {**template["metadata"], "name": "bare"}, "spec": template["spec"]}
    cron = {"metadata": {"name": "cron"}, "spec": {"jobTemplate": {"spec": {"template": template}}}}
    assert check("k8s-not-privileged", rules.POD, bare)
    assert check("k8s-not-privileged", rules.CRON_JOB, cron)


# -- default deny per namespace (stack policy) ---------------------------------------------------


def _without_default_deny(run, namespace: str, change) -> list[str]:
    """The stack with `change` applied to the default-deny policy of `namespace` (None: removed)."""
    out = []
    for r in run.resources:
        props = copy.deepcopy(r.raw)
        meta = props.get("metadata") or {}
        if r.type == rules.NETWORK_POLICY and meta.get("name") == "default-deny" and meta.get("namespace") == namespace:
            props = change(props)
            if props is None:
                continue
        out.append((r.type, seen(props)))
    return rules.namespaces_deny_by_default(out)


@pytest.mark.parametrize("namespace", [NAMESPACE, NODE_NAMESPACE])
def test_a_namespace_without_a_default_deny_policy_is_rejected(run, namespace):
    assert _without_default_deny(run, namespace, lambda p: None) == [
        f"namespace '{namespace}' has no default-deny NetworkPolicy"
    ]


def _set(path: str, value):
    def change(props):
        spec = props["spec"]
        spec[path] = value
        return props

    return change


def test_a_default_deny_that_allows_ingress_is_rejected(run):
    assert _without_default_deny(run, NAMESPACE, _set("ingress", [{"from": [{"podSelector": {}}]}]))


def test_a_default_deny_that_allows_egress_is_rejected(run):
    assert _without_default_deny(run, NAMESPACE, _set("egress", [{}]))


@pytest.mark.parametrize("types", [["Ingress"], ["Egress"], []])
def test_a_default_deny_covering_one_direction_is_rejected(run, types):
    assert _without_default_deny(run, NAMESPACE, _set("policyTypes", types))


def test_a_default_deny_selecting_only_some_pods_is_rejected(run):
    assert _without_default_deny(run, NAMESPACE, _set("podSelector", {"matchLabels": {"app.kubernetes.io/name": "api"}}))


def test_a_default_deny_in_another_namespace_does_not_count(run):
    def elsewhere(props):
        props["metadata"]["namespace"] = "default"
        return props

    assert _without_default_deny(run, NODE_NAMESPACE, elsewhere)
