"""Rotating a generated secret: one config value (`rotation.<name>`, bumped by `python -m infra.rotate`)
replaces its pulumi-random password, and on the next `up` every user of it gets the new value.

Each case runs the real program under the mock runtime twice (as deployed, and after the rotation) and
compares what it registers. A changed input is what makes `pulumi up` act: a container's `envs` and
`uploads` are ForceNew (kreuzwerker/terraform-provider-docker@5074970c,
internal/provider/resource_docker_container.go), so it is replaced and restarts with the new value; a
bootstrap command whose `triggers` change is replaced, i.e. re-runs (pulumi-command 1.2.1,
local.Command `triggers`); pulumi-random replaces a password whose `keepers` change.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from infra import rotate
from infra.assembly import offline_catalog
from infra.settings import BASIC_AUTH_SERVICES, NOT_ROTATABLE, OVERRIDABLE_SECRETS, ROTATABLE_SECRETS, ConfigError, parse_settings

from .harness import PROJECT, run_stack, secret_value, stack_file_config

STACK = "staging"

#: Who must act on `pulumi up` after each rotation: containers replaced, bootstraps re-run.
CONVERGES = {
    "postgresPassword": {"postgres", "postgres-bootstrap"},  # the bootstrap ALTERs the superuser
    "postgresMonitorPassword": {"postgres-bootstrap", "postgres-exporter"},
    # The migration step holds it too: it runs again (a no-op at the newest schema) with the new password.
    "mlflowDbPassword": {"postgres-bootstrap", "mlflow", "mlflow-migration"},
    "apiDbPassword": {"postgres-bootstrap", "api", "processor"},
    "rabbitmqAdminPassword": {"rabbitmq", "object-backup"},  # definitions re-imported at boot
    "rabbitmqAppPassword": {"rabbitmq", "api", "processor"},
    "s3RootPassword": {"minio", "minio-bootstrap"},
    "s3AppSecretKey": {"minio-bootstrap", "api", "processor"},  # `mc admin user add` overwrites
    "s3MlflowSecretKey": {"minio-bootstrap", "mlflow"},
    "s3BackupSecretKey": {"minio-bootstrap", "object-backup"},
    "apiToken": {"api", "ui"},
    "mlflowBasicAuth": {"proxy", "docker-gen"},  # htpasswd upload (docker-gen renders auth_basic only where the file exists)
    "uiBasicAuth": {"proxy", "docker-gen"},
}


#: They get a hash of the password, not the password: RabbitMQ's definitions, the htpasswd of the proxy and docker-gen.
HOLD_A_HASH = {"rabbitmq", "proxy", "docker-gen"}


def stack_config(**extra):
    cfg = stack_file_config(STACK)
    cfg.update(extra)
    return cfg


def service_of(resource_name: str) -> str:
    rest = resource_name.removeprefix(f"{PROJECT}-{STACK}-")
    return re.sub(r"-\d+$", "", rest)


def changed(before, after) -> dict[str, tuple[dict, dict]]:
    old = {r.urn: r for r in before.resources}
    new = {r.urn: r for r in after.resources}
    assert set(old) == set(new)
    return {urn: (old[urn], new[urn]) for urn in old if old[urn].inputs != new[urn].inputs}


def test_every_rotatable_secret_has_its_convergence_stated():
    assert set(CONVERGES) == set(ROTATABLE_SECRETS)
    assert set(ROTATABLE_SECRETS) | set(NOT_ROTATABLE) == set(OVERRIDABLE_SECRETS) | {f"{s}BasicAuth" for s in BASIC_AUTH_SERVICES}


def test_basic_auth_services_are_the_catalogs():
    catalog = offline_catalog(STACK)[1]
    assert set(BASIC_AUTH_SERVICES) == {n for n, s in catalog.public().items() if s.public.basic_auth}


@pytest.mark.parametrize("name", ROTATABLE_SECRETS)
def test_after_a_rotation_exactly_the_secrets_users_change(runs, name):
    before = runs[STACK]
    after = run_stack(STACK, stack_config(rotation={name: 1}))
    diff = changed(before, after)
    password = next(r for r in after.of_type(":RandomPassword") if r.name.endswith(("-" + name, f"-{name.removesuffix('BasicAuth')}-basic-auth")))
    assert password.inputs["keepers"] == {"rotation": "1"}
    assert "keepers" not in next(r for r in before.resources if r.urn == password.urn).inputs  # nothing rotates by itself
    acting = {service_of(new.name) for _, new in diff.values() if new.urn != password.urn}
    assert acting == CONVERGES[name]
    new_value = secret_value(f"{password.name}-r1")
    for _, new in diff.values():
        if new.urn != password.urn and service_of(new.name) not in HOLD_A_HASH:
            assert new_value in str(new.inputs), new.name


def test_the_bootstrap_reruns_after_the_dependency_it_serves_waits_for_it(runs):
    after = run_stack(STACK, stack_config(rotation={"apiDbPassword": 2}))
    boot = next(r for r in after.of_type(":Command") if r.name.endswith("-postgres-bootstrap"))
    assert secret_value(f"{PROJECT}-{STACK}-apiDbPassword-r2") in boot.inputs["triggers"]
    api = after.container("api")
    assert boot.urn in api.dependencies  # the API restarts only once its role has the new password


def test_rotated_values_stay_secret():
    from .harness import plain_text_secrets

    run = run_stack(STACK, stack_config(rotation={n: 3 for n in ROTATABLE_SECRETS}))
    values = [secret_value(f"{r.name}-r3") for r in run.of_type(":RandomPassword")]
    assert plain_text_secrets(run, values) == []


@pytest.mark.parametrize("name", sorted(NOT_ROTATABLE))
def test_secrets_whose_rotation_would_not_converge_are_refused_with_the_reason(name):
    with pytest.raises(ConfigError, match=rf"rotation(\.{name})?: .*'{name}' cannot be rotated"):
        parse_settings(STACK, {"acmeEmail": "ops@iot64.de", "rotation": {name: 1}}, offline=True)


def test_unknown_or_negative_rotation_is_rejected():
    with pytest.raises(ConfigError, match="unknown secret 'apiTokn'"):
        parse_settings(STACK, {"acmeEmail": "ops@iot64.de", "rotation": {"apiTokn": 1}}, offline=True)
    with pytest.raises(ConfigError, match=r"rotation\.apiToken"):
        parse_settings(STACK, {"acmeEmail": "ops@iot64.de", "rotation": {"apiToken": -1}}, offline=True)


def test_an_overridden_secret_is_rotated_by_setting_it_not_by_a_counter():
    with pytest.raises(ConfigError, match=r"rotation\.apiToken: secrets\.apiToken overrides"):
        parse_settings(STACK, {"acmeEmail": "ops@iot64.de", "rotation": {"apiToken": 1}, "secrets": {"apiToken": "x"}}, offline=True)


def test_pulumi_stores_the_counter_as_a_number_or_a_string_and_both_work():
    for value in (2, "2"):
        assert parse_settings(STACK, {"acmeEmail": "ops@iot64.de", "rotation": {"apiToken": value}}, offline=True).rotation == {"apiToken": 2}


# ---------- the command


def stack_file(tmp_path, text: str):
    (tmp_path / f"Pulumi.{STACK}.yaml").write_text(text)
    return tmp_path


def test_rotate_bumps_the_counter_with_pulumi_config_set(tmp_path):
    root = stack_file(tmp_path, "config:\n  mlops-platform:acmeEmail: ops@iot64.de\n  mlops-platform:rotation:\n    apiToken: 4\n")
    calls = []
    code = rotate.main(["--stack", STACK, "apiToken"], root=root, run=lambda argv: calls.append(argv) or subprocess.CompletedProcess(argv, 0))
    assert code == 0
    assert calls == [["pulumi", "config", "set", "--stack", STACK, "--path", "rotation.apiToken", "5"]]


def test_rotate_starts_at_one_and_dry_run_only_prints(tmp_path, capsys):
    root = stack_file(tmp_path, "config:\n  mlops-platform:acmeEmail: ops@iot64.de\n")
    assert rotate.main(["--stack", STACK, "uiBasicAuth", "--dry-run"], root=root, run=lambda argv: pytest.fail("ran")) == 0
    out = capsys.readouterr().out
    assert "pulumi config set --stack staging --path rotation.uiBasicAuth 1" in out and "pulumi up --stack staging" in out


@pytest.mark.parametrize("name,reason", [("backupPassphrase", "unreadable"), ("grafanaAdminPassword", "creates its database"), ("nope", "unknown")])
def test_rotate_refuses_what_would_not_converge(tmp_path, capsys, name, reason):
    root = stack_file(tmp_path, "config: {}\n")
    assert rotate.main(["--stack", STACK, name], root=root, run=lambda argv: pytest.fail("ran")) == 2
    assert reason in capsys.readouterr().err
