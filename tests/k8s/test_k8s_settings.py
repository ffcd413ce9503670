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


def test_scaling_defaults_keep_two_api_replicas():
    k = parse_settings("k8s-staging", {**BASE, "target": "kubernetes"}).kubernetes
    assert (k.api.minReplicas, k.api.maxReplicas) == (2, 6)
    assert (k.processor.minReplicas, k.processor.maxReplicas, k.processor.messagesPerReplica) == (1, 8, 5)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"target": "nomad"}, "mlops-platform:target: Input should be 'docker' or 'kubernetes'"),
        ({"kubernetes": {"namespace": "Not_A_Label"}}, "mlops-platform:kubernetes.namespace: 'Not_A_Label' is not a valid namespace name"),
        ({"kubernetes": {"api": {"minReplicas": 1}}}, "mlops-platform:kubernetes.api.minReplicas: Input should be greater than or equal to 2"),
        ({"kubernetes": {"api": {"minReplicas": 4, "maxReplicas": 3}}}, "mlops-platform:kubernetes.api: maxReplicas (3) is below minReplicas (4)"),
        ({"kubernetes": {"processor": {"messagesPerReplica": 0}}}, "mlops-platform:kubernetes.processor.messagesPerReplica: Input should be greater than or equal to 1"),
        ({"kubernetes": {"replicas": 3}}, "mlops-platform:kubernetes.replicas: unknown config key"),
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
