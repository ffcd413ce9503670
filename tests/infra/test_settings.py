"""Bad stack config fails before any resource is declared, with one message naming key and reason."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError, default_hosts, parse_settings

from .harness import run_stack

BASE = {"acmeEmail": "ops@iot64.de"}


def error_for(raw: dict, stack: str = "staging") -> str:
    with pytest.raises(ConfigError) as exc:
        parse_settings(stack, raw)
    return str(exc.value)


def test_malformed_hostname_is_rejected_naming_the_key():
    msg = error_for({**BASE, "hosts": {"api": "not a host!"}})
    assert "mlops-platform:hosts.api" in msg and "not a valid DNS hostname" in msg


def test_an_upload_limit_that_is_not_a_size_is_rejected_naming_the_key():
    msg = error_for({**BASE, "data": {"maxUpload": "2 GB"}})
    assert "data.maxUpload" in msg and "'2 GB' is not a size" in msg


def test_an_unknown_oversize_training_policy_is_rejected_naming_the_key():
    msg = error_for({**BASE, "data": {"oversizeTraining": "crash"}})
    assert "data.oversizeTraining" in msg and "sample" in msg


def test_duplicate_hostnames_are_rejected():
    msg = error_for({**BASE, "hosts": {"ui": "api.staging.mlops.dns64.de"}})
    assert "hosts.ui" in msg and "already used by 'api'" in msg


def test_unknown_service_in_hosts_is_rejected():
    msg = error_for({**BASE, "hosts": {"jupyter": "nb.example.org"}})
    assert "unknown service 'jupyter'" in msg


def test_tls_stack_without_acme_email_is_rejected():
    msg = error_for({})
    assert "mlops-platform:acmeEmail" in msg and "required when tls is true" in msg


def test_malformed_acme_email_is_rejected():
    assert "not an e-mail address" in error_for({"acmeEmail": "ops-at-example"})


@pytest.mark.parametrize("ref", ["postgres", "postgres:latest", "Postgres:18"])
def test_unpinned_image_override_is_rejected(ref):
    msg = error_for({**BASE, "images": {"postgres": ref}})
    assert "mlops-platform:images" in msg and "postgres" in msg


def test_latest_image_tag_for_own_images_is_rejected():
    assert "floating tag" in error_for({**BASE, "imageTag": "latest"})


@pytest.mark.parametrize("replicas", [0, -1])
def test_fewer_than_one_processor_replica_is_rejected(replicas):
    msg = error_for({**BASE, "processorReplicas": replicas})
    assert "mlops-platform:processorReplicas" in msg and "greater than or equal to 1" in msg


def test_unknown_config_key_is_rejected():
    assert "mlops-platform:acmeEmial: unknown config key" in error_for({**BASE, "acmeEmial": "x@y.de"})


def test_unknown_secret_override_is_rejected():
    assert "secrets.grafanaPassword: unknown secret" in error_for({**BASE, "secrets": {"grafanaPassword": "x"}})


def test_all_problems_are_reported_together():
    msg = error_for({"processorReplicas": 0, "hosts": {"api": "bad host"}})
    assert "processorReplicas" in msg and "hosts.api" in msg


def test_defaults_reproduce_the_host_table():
    assert default_hosts("production")["minio"] == "s3.mlops.iot64.de"
    assert default_hosts("staging")["rabbitmq"] == "rabbitmq.staging.mlops.iot64.de"
    assert default_hosts("dev")["api"] == "api.localhost"


def test_bad_config_fails_the_program_before_any_resource():
    with pytest.raises(Exception) as exc:
        run_stack("staging", {"acmeEmail": "ops@iot64.de", "processorReplicas": "0"})
    assert "processorReplicas" in str(exc.value)


def test_plain_text_secret_override_is_rejected_by_the_program():
    with pytest.raises(Exception) as exc:
        run_stack("staging", {"acmeEmail": "ops@iot64.de", "secrets": {"apiToken": "abc"}})
    assert "must be stored encrypted" in str(exc.value)


def test_encrypted_secret_override_replaces_the_generated_one():
    run = run_stack("staging", {"acmeEmail": "ops@iot64.de", "secrets": {"apiToken": "tok-123"}}, secret_keys=("secrets",))
    assert not any(r.name.endswith("-apiToken") for r in run.of_type(":RandomPassword"))
    env = run.container("api").inputs["envs"]
    assert "API_TOKEN=tok-123" in env


def test_misspelt_image_service_is_rejected_listing_the_known_ones():
    msg = error_for({**BASE, "images": {"rabbitmqq": "rabbitmq:4.2.3-management"}})
    assert "mlops-platform:images.rabbitmqq: unknown image service 'rabbitmqq'" in msg
    assert "rabbitmq, " in msg and "grafana" in msg


@pytest.mark.parametrize("built", ["api", "processor", "ui", "mlflow", "postgres"])
def test_built_image_in_images_is_rejected_pointing_to_owner_and_tag(built):
    msg = error_for({**BASE, "images": {built: f"ghcr.io/x/{built}:1.2"}})
    assert f"mlops-platform:images.{built}:" in msg and "imageOwner/imageTag" in msg


def test_known_pinned_image_override_is_accepted():
    assert parse_settings("staging", {**BASE, "images": {"grafana": "grafana/grafana:13.2.4"}}).images == {"grafana": "grafana/grafana:13.2.4"}


@pytest.mark.parametrize("key", ["tls", "acmeStaging", "buildImages", "protectData"])
@pytest.mark.parametrize("word", ["off", "f", "n", "no", "0", "yes", "on", "1"])
def test_boolean_keys_take_only_true_or_false(key, word):
    msg = error_for({**BASE, key: word})
    assert f"mlops-platform:{key}: '{word}' is not a boolean; use true or false" in msg


def test_tls_off_is_reported_as_not_a_boolean_and_not_as_a_missing_acme_email():
    msg = error_for({"tls": "off"})
    assert "mlops-platform:tls" in msg and "acmeEmail" not in msg


@pytest.mark.parametrize("word", ["false", "False", "FALSE"])
def test_tls_false_in_any_case_needs_no_acme_email(word):
    assert parse_settings("staging", {"tls": word}).tls is False


def test_boolean_strings_as_pulumi_passes_them_are_parsed():
    s = parse_settings("staging", {**BASE, "tls": "true", "acmeStaging": "false", "protectData": "True"})
    assert (s.tls, s.acmeStaging, s.protectData) == (True, False, True)


def test_docker_host_key_of_this_project_is_rejected_pointing_to_docker_host():
    msg = error_for({**BASE, "dockerHost": "ssh://deploy@example.org"})
    assert "mlops-platform:dockerHost: unknown config key" in msg and "docker:host" in msg


@pytest.mark.parametrize("key", ["stack", "docker_host"])
def test_model_fields_that_are_not_config_keys_are_rejected(key):
    assert f"mlops-platform:{key}: unknown config key" in error_for({**BASE, key: "x"})


def test_docker_host_reaches_the_bootstrap_of_every_service():
    run = run_stack("staging", {"acmeEmail": "ops@iot64.de", "docker:host": "ssh://deploy@example.org"})
    boots = run.of_type(":Command")
    assert boots and all(b.inputs["environment"]["DOCKER_HOST"] == "ssh://deploy@example.org" for b in boots)


#: A syntactically valid digest for tests only: it names no real image.
TEST_DIGEST = "sha256:" + "0" * 64


def test_an_image_override_may_name_its_digest_beside_its_tag():
    settings = parse_settings("staging", {"acmeEmail": "a@b.de", "images": {"grafana": f"grafana/grafana:13.2.3@{TEST_DIGEST}"}})
    assert settings.images["grafana"].endswith(TEST_DIGEST)


def test_required_digests_name_every_image_without_one():
    with pytest.raises(ConfigError) as exc:
        parse_settings("production", {"acmeEmail": "a@b.de", "requireImageDigests": True, "images": {"grafana": f"grafana/grafana:13.2.3@{TEST_DIGEST}"}})
    line = next(l for l in str(exc.value).splitlines() if "requireImageDigests" in l)
    assert "proxy" in line and "rabbitmq" in line and "grafana" not in line


def test_required_digests_pass_when_every_third_party_image_has_one():
    from infra.images import IMAGES

    pinned = {k: f"{v.split('@')[0]}@{TEST_DIGEST}" for k, v in IMAGES.items()}
    settings = parse_settings("production", {"acmeEmail": "a@b.de", "requireImageDigests": True, "images": pinned})
    assert settings.requireImageDigests


def test_a_digest_pinned_image_is_pulled_by_that_reference():
    from .harness import run_stack

    ref = f"grafana/grafana:13.2.3@{TEST_DIGEST}"
    run = run_stack("staging", {"acmeEmail": "a@b.de", "images": {"grafana": ref}})
    assert any(r.inputs["name"] == ref for r in run.of_type(":RemoteImage"))
