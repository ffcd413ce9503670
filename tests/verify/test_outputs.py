"""What verify reads from the stack outputs, including the `tls` output it needs."""

import pytest

from infra.verify.net import ConnectTo, Routes
from infra.verify.outputs import OutputsError, StackOutputs
from tests.infra.harness import run_stack


@pytest.mark.parametrize(
    "stack, expected",
    [("staging", {"enabled": True, "acmeStaging": True}), ("production", {"enabled": True, "acmeStaging": False}),
     ("dev", {"enabled": False, "acmeStaging": False})],
)  # fmt: skip
def test_tls_output_says_whether_the_stack_uses_the_staging_ca(stack, expected):
    run = run_stack(stack)
    assert run.output("tls") == expected
    parsed = StackOutputs.parse(stack, {k: run.output(k) for k in ("urls", "credentials", "containers", "tls")})
    assert (parsed.tls, parsed.acme_staging) == (expected["enabled"], expected["acmeStaging"])
    assert {"api", "processor", "grafana"} <= set(parsed.containers)


def test_hidden_secrets_are_refused_with_the_key_named():
    doc = {"urls": {"api": "https://a.example/"}, "credentials": {"api": {"token": "[secret]"}}}
    with pytest.raises(OutputsError, match=r"outputs.credentials.api: secret not shown \(run with --show-secrets\)"):
        StackOutputs.parse("staging", doc)


def test_missing_urls_are_refused_with_the_key_named():
    with pytest.raises(OutputsError, match="outputs.urls: missing or empty"):
        StackOutputs.parse("staging", {"credentials": {"api": {"token": "t"}}})


def test_outputs_without_tls_fall_back_to_the_url_scheme_and_a_strict_ca():
    parsed = StackOutputs.parse("old", {"urls": {"api": "https://a.example/"}, "credentials": {"api": {"token": "t"}}})
    assert parsed.tls is True and parsed.acme_staging is False


def test_connect_to_follows_curl_syntax():
    routes = Routes([ConnectTo.parse("api.example:443:127.0.0.1:8443"), ConnectTo.parse("::10.0.0.1:9443")])
    assert routes.resolve("api.example", 443) == ("127.0.0.1", 8443)
    assert routes.resolve("other.example", 443) == ("10.0.0.1", 9443)
    with pytest.raises(ValueError, match="HOST1:PORT1:HOST2:PORT2"):
        ConnectTo.parse("api.example:443:127.0.0.1")


def test_a_kubernetes_stacks_workloads_name_the_services_that_must_log():
    """The Kubernetes target exports `workloads` (one per rendered service, all in the stack's namespace,
    whose pod logs Alloy ships), not `containers`; without them the logs check could not run."""
    from tests.k8s.harness import run_k8s_stack

    run = run_k8s_stack(stack="k8s-ci")
    doc = {k: run.output(k) for k in ("urls", "credentials", "workloads", "tls")}
    parsed = StackOutputs.parse("k8s-ci", doc)
    assert set(parsed.containers) == set(run.output("workloads")) and {"api", "processor"} <= set(parsed.containers)
