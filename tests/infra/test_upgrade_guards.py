"""The preview-time guards for the stateful services' data: the program compares the data versions it deploys
with those of the stack's previous deployment (a StackReference to the stack itself) and refuses an unsafe change,
naming both versions and what makes it safe."""

from __future__ import annotations

import pytest

from infra.services.data import minio, pgbackrest, postgres, rabbitmq

from .harness import run_stack, stack_file_config

STACK = "dev"
PG = pgbackrest.POSTGRES_MAJOR


def deployed(run) -> dict[str, str]:
    return run.output("dataVersions")


@pytest.fixture(scope="module")
def first_deploy():
    return run_stack(STACK)


def run_after(previous: dict[str, str], **config):
    return run_stack(STACK, {**stack_file_config(STACK), **config}, deployed_outputs={"dataVersions": previous})


def test_a_first_deploy_has_nothing_to_compare_and_exports_the_data_versions(first_deploy):
    versions = deployed(first_deploy)
    assert versions["postgres"] == PG == "18"
    assert versions["rabbitmq"] == "4.2.9"
    assert versions["minio"] == "RELEASE.2025-09-07T16-13-09Z"


def test_a_postgres_major_bump_is_refused_naming_both_versions_and_the_commands(first_deploy):
    previous = {**deployed(first_deploy), "postgres": "15"}
    with pytest.raises(Exception) as refused:
        run_after(previous)
    message = str(refused.value)
    assert f"postgres: 15 -> {PG} is unsafe" in message
    assert f"/var/lib/postgresql/{PG}/docker" in message and "empty" in message
    assert "docs/upgrading.md" in message
    assert f"pulumi config set --path upgrades.allow.postgres {PG}" in message


def test_the_postgres_refusal_names_the_command_that_carries_this_stacks_cluster_over(first_deploy):
    previous = {**deployed(first_deploy), "postgres": "15"}
    with pytest.raises(Exception) as refused:
        run_after(previous)
    message = str(refused.value)
    carry_over = f"python -m infra.upgrade_postgres --stack {STACK} carry-over"
    allow = f"pulumi config set --path upgrades.allow.postgres {PG}"
    assert carry_over in message and message.index(carry_over) < message.index(allow)
    assert f"python -m infra.upgrade_postgres --stack {STACK} resume" in message


def test_on_kubernetes_the_postgres_refusal_names_no_docker_command():
    unsafe = postgres.unsafe_upgrade("15", "18", "kubernetes")
    assert "infra.upgrade_postgres" not in unsafe.remedy and "docs/upgrading.md, PostgreSQL" in unsafe.remedy


def test_a_postgres_major_bump_goes_ahead_once_the_stack_allows_that_major(first_deploy):
    previous = {**deployed(first_deploy), "postgres": "15"}
    run = run_after(previous, upgrades={"allow": {"postgres": PG}})
    assert deployed(run)["postgres"] == PG


def test_an_allowance_for_another_major_does_not_cover_this_one(first_deploy):
    previous = {**deployed(first_deploy), "postgres": "15"}
    with pytest.raises(Exception, match="postgres: 15 -> 18"):
        run_after(previous, upgrades={"allow": {"postgres": "17"}})


def test_a_rabbitmq_patch_release_goes_ahead(first_deploy):
    previous = {**deployed(first_deploy), "rabbitmq": "4.2.8"}
    assert deployed(run_after(previous))["rabbitmq"] == "4.2.9"


def test_a_skipped_rabbitmq_release_series_is_refused(first_deploy):
    previous = {**deployed(first_deploy), "rabbitmq": "4.0.9"}
    with pytest.raises(Exception, match=r"rabbitmq: 4\.0\.9 -> 4\.2\.9 is unsafe: .*one release series at a time"):
        run_after(previous)


def test_unchanged_versions_go_ahead(first_deploy):
    assert deployed(run_after(deployed(first_deploy))) == deployed(first_deploy)


@pytest.mark.parametrize(
    ("old", "new", "target", "safe"),
    [
        ("4.2.8", "4.2.9", "docker", True),
        ("4.1.4", "4.2.9", "docker", True),  # the bootstrap enabled 4.1's flags after its start
        ("4.1.4", "4.2.9", "kubernetes", False),  # nothing enabled them there
        ("4.0.9", "4.2.9", "docker", False),
        ("3.13.7", "4.0.1", "docker", False),
        ("4.2.9", "4.2.8", "docker", False),
    ],
)
def test_rabbitmq_release_series_rules(old, new, target, safe):
    assert (rabbitmq.unsafe_upgrade(old, new, target) is None) is safe


def test_the_next_rabbitmq_series_on_kubernetes_names_the_command_that_enables_the_flags():
    unsafe = rabbitmq.unsafe_upgrade("4.1.4", "4.2.9", "kubernetes")
    assert "rabbitmqctl enable_feature_flag all" in unsafe.remedy


@pytest.mark.parametrize(
    ("old", "new", "safe"),
    [
        ("RELEASE.2025-04-22T22-12-26Z", "RELEASE.2025-09-07T16-13-09Z", True),
        ("RELEASE.2025-09-07T16-13-09Z", "RELEASE.2025-04-22T22-12-26Z", False),  # a downgrade
        ("RELEASE.2025-09-07T16-13-09Z", "v1.0.0-alpha.40", False),  # another store: cannot be judged
    ],
)
def test_minio_release_rules(old, new, safe):
    assert (minio.unsafe_upgrade(old, new, "docker") is None) is safe


@pytest.mark.parametrize(("old", "new"), [("15", "18"), ("18", "17")])
def test_every_postgres_major_change_is_unsafe(old, new):
    assert postgres.unsafe_upgrade(old, new, "docker") is not None


def test_the_allowance_names_a_guarded_service():
    from infra.settings import ConfigError, parse_settings

    with pytest.raises(ConfigError, match="upgrades.allow.mlflow"):
        parse_settings(STACK, {**stack_file_config(STACK), "upgrades": {"allow": {"mlflow": "3"}}}, offline=True)
