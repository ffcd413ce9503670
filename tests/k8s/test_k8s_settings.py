"""`target` and the `kubernetes:` block: defaults, and errors that name the key."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError, parse_settings

BASE = {"acmeEmail": "ops@iot64.de"}


def test_the_target_defaults_to_docker():
    settings = parse_settings("staging", BASE)
    assert settings.target == "docker"


def test_the_namespace_defaults_to_one_per_stack():
    settings = parse_settings("k8s-staging", {**BASE, "target": "kubernetes"})
    assert settings.kubernetes.namespace_for(settings.stack) == "mlops-k8s-staging"


def test_the_gateway_namespace_defaults_to_the_one_envoy_gateway_installs_itself_in():
    """envoyproxy/gateway v1.9.0: charts/gateway-helm/README.md installs with `-n envoy-gateway-system`,
    internal/envoygateway/config/config.go `DefaultNamespace = "envoy-gateway-system"`, and the proxies run in
    the controller's namespace (internal/infrastructure/kubernetes/proxy_infra.go `GetResourceNamespace`)."""
    k = parse_settings("k8s-staging", {**BASE, "target": "kubernetes"}).kubernetes
    assert k.gatewayNamespace == "envoy-gateway-system"


def test_scaling_defaults_keep_two_api_replicas():
    k = parse_settings("k8s-staging", {**BASE, "target": "kubernetes"}).kubernetes
    assert (k.api.minReplicas, k.api.maxReplicas) == (2, 6)
    assert (k.processor.minReplicas, k.processor.maxReplicas, k.processor.messagesPerReplica) == (1, 8, 5)


def test_kubelet_certificates_are_checked_and_the_api_server_egress_is_open_by_default():
    k = parse_settings("k8s-staging", {**BASE, "target": "kubernetes"}).kubernetes
    assert (k.kubeletInsecureTls, k.apiServerCidrs) == (False, [])


def test_api_server_cidrs_are_normalised_single_addresses_becoming_host_networks():
    config = {**BASE, "kubernetes": {"apiServerCidrs": ["10.0.0.10", " 192.168.0.0/16", "fd00:10::/64"]}}
    k = parse_settings("k8s-staging", config).kubernetes
    assert k.apiServerCidrs == ["10.0.0.10/32", "192.168.0.0/16", "fd00:10::/64"]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"target": "nomad"}, "mlops-platform:target: Input should be 'docker' or 'kubernetes'"),
        ({"kubernetes": {"namespace": "Not_A_Label"}}, "mlops-platform:kubernetes.namespace: 'Not_A_Label' is not a valid namespace name"),
        ({"kubernetes": {"api": {"minReplicas": 1}}}, "mlops-platform:kubernetes.api.minReplicas: Input should be greater than or equal to 2"),
        ({"kubernetes": {"api": {"minReplicas": 4, "maxReplicas": 3}}}, "mlops-platform:kubernetes.api: maxReplicas (3) is below minReplicas (4)"),
        ({"kubernetes": {"processor": {"messagesPerReplica": 0}}}, "mlops-platform:kubernetes.processor.messagesPerReplica: Input should be greater than or equal to 1"),
        ({"kubernetes": {"replicas": 3}}, "mlops-platform:kubernetes.replicas: unknown config key"),
        ({"kubernetes": {"apiServerCidrs": ["10.0.0.1/24"]}}, "mlops-platform:kubernetes.apiServerCidrs: '10.0.0.1/24' is not a CIDR (10.0.0.1/24 has host bits set)"),
        ({"kubernetes": {"apiServerCidrs": ["api.example.com"]}}, "mlops-platform:kubernetes.apiServerCidrs: 'api.example.com' is not a CIDR"),
        ({"kubernetes": {"apiServerCidrs": "10.0.0.0/8"}}, "mlops-platform:kubernetes.apiServerCidrs: Input should be a valid list"),
        ({"kubernetes": {"kubeletInsecureTls": "yes"}}, "mlops-platform:kubernetes.kubeletInsecureTls: 'yes' is not a boolean; use true or false"),
    ],
)  # fmt: skip
def test_bad_kubernetes_settings_name_the_key_and_reason(config, message):
    with pytest.raises(ConfigError) as err:
        parse_settings("k8s-staging", {**BASE, **config})
    assert message in str(err.value)


def test_a_stack_name_that_is_no_namespace_needs_an_explicit_one():
    settings = parse_settings("Feature_X", {**BASE, "target": "kubernetes"})
    with pytest.raises(ValueError, match="namespace 'mlops-Feature_X'"):
        settings.kubernetes.namespace_for(settings.stack)
