"""Backups as each stack declares them: WAL archiving, encrypted repositories, schedules,
retention from the stack file, and secrets that never show in plain text."""

from __future__ import annotations

import configparser
import re

import pytest

from infra.settings import ConfigError, parse_settings

from .harness import BACKUP_TARGET_KEYS, plain_text_secrets, run_stack, stack_file_config
from .test_stacks import env_of

PGBACKREST_CONF = "/etc/pgbackrest/pgbackrest.conf"


def uploads(container) -> dict[str, str]:
    return {u["file"]: u["content"] for u in container.inputs.get("uploads") or []}


def pgbackrest_conf(container) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read_string(uploads(container)[PGBACKREST_CONF])
    return parser


def postgres_settings(run) -> dict[str, str]:
    command = run.container("postgres").inputs["command"]
    assert command[0] == "postgres"
    return dict(arg.split("=", 1) for arg in command[2::2])


def test_postgres_ships_every_wal_segment_within_the_recovery_point_objective(run):
    settings = postgres_settings(run)
    assert settings["archive_mode"] == "on" and settings["wal_level"] == "replica"
    assert re.fullmatch(r"pgbackrest --config=\S+ --stanza=main archive-push %p", settings["archive_command"])
    assert int(settings["archive_timeout"].removesuffix("s")) <= 300


def test_postgres_and_its_backup_sidecar_share_one_encrypted_repository(run):
    conf = pgbackrest_conf(run.container("postgres"))
    assert uploads(run.container("postgres"))[PGBACKREST_CONF] == uploads(run.container("postgres-backup"))[PGBACKREST_CONF]
    assert conf["global"]["repo1-cipher-type"] == "aes-256-cbc"
    for container in ("postgres", "postgres-backup"):
        assert "PGBACKREST_REPO1_CIPHER_PASS" in env_of(run.container(container))


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_server_stacks_back_up_to_the_target_in_their_stack_file(runs, stack):
    target = stack_file_config(stack)["mlops-platform:backup"]["target"]
    conf = pgbackrest_conf(runs[stack].container("postgres"))["global"]
    assert conf["repo1-type"] == "s3" and conf["repo1-s3-bucket"] == target["bucket"]
    assert conf["repo1-s3-endpoint"] == target["endpoint"]
    rclone = uploads(runs[stack].container("object-backup"))["/etc/rclone/rclone.conf"]
    assert f"remote = target:{target['bucket']}/objects" in rclone and "type = crypt" in rclone


def test_retention_comes_from_the_stack_file(runs):
    retention = stack_file_config("production")["mlops-platform:backup"]["retention"]
    conf = pgbackrest_conf(runs["production"].container("postgres"))["global"]
    assert int(conf["repo1-retention-full"]) == retention["full"] and int(conf["repo1-retention-diff"]) == retention["diff"]
    env = env_of(runs["production"].container("object-backup"))
    assert [int(env[k]) for k in ("KEEP_DAILY", "KEEP_WEEKLY", "KEEP_MONTHLY")] == [
        retention["daily"], retention["weekly"], retention["monthly"],
    ]  # fmt: skip


def test_dev_keeps_its_backups_in_a_volume_of_their_own(runs):
    conf = pgbackrest_conf(runs["dev"].container("postgres"))["global"]
    assert conf["repo1-type"] == "posix" and conf["repo1-path"].startswith("/backups/")
    for service in ("postgres", "postgres-backup", "object-backup"):  # archive-push, base backups, snapshots
        mounts = {m.get("containerPath"): m.get("volumeName") for m in runs["dev"].container(service).inputs["volumes"]}
        assert mounts["/backups"].endswith("-backups"), service


def test_the_target_key_pair_never_shows_in_plain_text(runs):
    for stack in ("staging", "production"):
        assert plain_text_secrets(runs[stack], list(BACKUP_TARGET_KEYS.values())) == [], stack


def test_a_target_without_its_key_pair_is_rejected_naming_the_keys():
    with pytest.raises(ConfigError) as exc:
        parse_settings("staging", {"acmeEmail": "ops@iot64.de", "backup": {"target": {"endpoint": "s3.example.org", "bucket": "b-backups"}}})
    assert "secrets.backupTargetAccessKey: required with backup.target" in str(exc.value)
    assert "secrets.backupTargetSecretKey: required with backup.target" in str(exc.value)


def test_a_target_endpoint_with_a_scheme_is_rejected():
    with pytest.raises(ConfigError) as exc:
        parse_settings(
            "staging",
            {
                "acmeEmail": "ops@iot64.de",
                "backup": {"target": {"endpoint": "https://s3.example.org", "bucket": "b-backups"}},
                "secrets": dict(BACKUP_TARGET_KEYS),
            },
        )
    assert "mlops-platform:backup.target.endpoint" in str(exc.value)


def test_a_server_stack_without_a_target_says_so_at_every_preview():
    warnings = parse_settings("staging", {"acmeEmail": "ops@iot64.de"}).backup_warnings()
    assert warnings and "losing the host loses them too" in warnings[0]
    assert parse_settings("dev", {"tls": False}).backup_warnings() == []


def test_backups_older_than_their_schedule_raise_an_alert(run):
    prometheus = run.container("prometheus")
    rules = next(u["content"] for u in prometheus.inputs["uploads"] if u["file"].endswith("platform.yml"))
    interval_s = int(env_of(run.container("postgres-backup"))["INTERVAL"])
    assert f"time() - mlops_backup_last_success_timestamp_seconds > {int(interval_s * 1.5)}" in rules
    assert "WalArchivingFailing" in rules


def test_the_backup_user_may_read_and_restore_both_buckets(run):
    script = run.of_type(":Command")
    boot = next(r for r in script if r.name.endswith("minio-bootstrap"))
    assert 'grant backup "$S3_BACKUP_SECRET" pipeline-data mlflow-artifacts' in boot.inputs["stdin"]


def test_a_stack_without_target_still_deploys():
    run = run_stack("staging", {"acmeEmail": "ops@iot64.de"})
    conf = pgbackrest_conf(run.container("postgres-backup"))["global"]
    assert conf["repo1-type"] == "posix"


def volume_flags(create: str) -> dict[str, str]:
    """{container path: volume name} of a `docker run -v name:path` command."""
    return {path: name for name, path in re.findall(r"-v ([\w.-]+):(\S+)", create)}


def test_postgres_backup_gets_its_writable_volumes_given_to_its_group_before_it_starts(run):
    """Docker creates the metrics volume root:root 0755 (no image has /textfile), which postgres-backup
    (999:999) cannot write; the Docker target does what Kubernetes' fsGroup does, before the container."""
    container = run.container("postgres-backup")
    init = next(r for r in run.of_type(":Command") if r.name == f"{container.name}-fs-group")
    create = init.inputs["create"]
    writable = {m["containerPath"]: m["volumeName"] for m in container.inputs["volumes"] if not m.get("readOnly")}
    assert "/textfile" in writable
    assert volume_flags(create) == writable
    assert re.search(r"chgrp 999 [^&]*/textfile", create) and "chmod g+rwxs" in create
    assert "--user 0" in create and "--cap-drop ALL --cap-add CHOWN --cap-add FOWNER" in create
    assert init.urn in container.dependencies


def test_postgres_gets_the_local_backup_target_given_to_its_group_on_the_dev_stack(runs):
    """archive-push (999) writes the dev stack's /backups volume, a path the image lacks."""
    run = runs["dev"]
    container = run.container("postgres")
    init = next(r for r in run.of_type(":Command") if r.name == f"{container.name}-fs-group")
    assert "/backups" in volume_flags(init.inputs["create"])
    assert init.urn in container.dependencies


def _private_ca(tmp_path) -> str:
    from tests.backup.target import write_certificates

    ca, _, _ = write_certificates(tmp_path)
    return ca.read_text()


def _target_config(**target) -> dict:
    config = stack_file_config("staging")
    config["mlops-platform:backup"] = {**config["mlops-platform:backup"], "target": {**config["mlops-platform:backup"]["target"], **target}}
    return config


def test_a_private_ca_of_the_target_is_uploaded_where_pgbackrest_and_rclone_trust_it(tmp_path):
    """A target whose certificate a private CA issued: the CA goes to the backup containers with the catalog,
    named by pgBackRest's repo1-storage-ca-file and rclone's --ca-cert (RCLONE_CA_CERT), as production trusts it."""
    pem = _private_ca(tmp_path)
    run = run_stack("staging", _target_config(caCertificate=pem))
    for service in ("postgres", "postgres-backup"):
        ca_file = pgbackrest_conf(run.container(service))["global"]["repo1-storage-ca-file"]
        assert uploads(run.container(service))[ca_file] == pem
    backup = run.container("object-backup")
    assert uploads(backup)[env_of(backup)["RCLONE_CA_CERT"]] == pem


def test_without_a_private_ca_the_backup_containers_trust_their_images_ca_bundles(runs):
    for service in ("postgres", "postgres-backup"):
        assert "repo1-storage-ca-file" not in pgbackrest_conf(runs["staging"].container(service))["global"]
    assert "RCLONE_CA_CERT" not in env_of(runs["staging"].container("object-backup"))


@pytest.mark.parametrize(
    "pem, reason",
    [("not a certificate", "not a PEM certificate"), (None, "is not a CA certificate")],
)
def test_a_target_ca_that_is_not_a_pem_ca_certificate_is_rejected_naming_the_field(tmp_path, pem, reason):
    from tests.backup.target import write_certificates

    if pem is None:  # the server certificate instead of its CA
        pem = write_certificates(tmp_path)[1].read_text()
    with pytest.raises(ConfigError) as exc:
        parse_settings("staging", {k.split(":", 1)[1]: v for k, v in _target_config(caCertificate=pem).items()} | {"secrets": dict(BACKUP_TARGET_KEYS)})
    assert "mlops-platform:backup.target.caCertificate" in str(exc.value) and reason in str(exc.value)


def test_every_rclone_write_to_the_target_skips_creating_its_bucket():
    """A target key scoped to one bucket may not create buckets, and rclone tries unless told not to."""
    from infra.configs.backup import OBJECT_BACKUP_SCRIPT

    script = re.sub(r"\\\n\s*", " ", OBJECT_BACKUP_SCRIPT)  # continuation lines joined
    writes = [line for line in script.splitlines() if re.search(r"rclone (sync|copyto|copy) .*vault:", line)]
    assert len(writes) == 3 and all("--s3-no-check-bucket" in line for line in writes), writes


def test_the_backup_containers_have_their_own_healthchecks(run):
    """Without one, postgres-backup would inherit its image's HEALTHCHECK (pg_isready on 127.0.0.1), which never
    passes in a container that runs no server."""
    for service in ("postgres-backup", "object-backup"):
        assert run.container(service).inputs.get("healthcheck"), service
