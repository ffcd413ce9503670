"""`python -m infra.upgrade_postgres` drives a deployed stack in the right order (its carry-over script runs for real,
from PostgreSQL 15 to 18, in tests/upgrades/test_postgres_major_upgrade.py)."""

from __future__ import annotations

import pytest

from infra import restore, upgrade_postgres
from infra.services.data import pgbackrest

from .test_restore_cli import PREFIX, FakeHost, index

OLD_PGDATA = "/var/lib/postgresql/15/docker"


class OldPostgresHost(FakeHost):
    """A staging stack whose PostgreSQL container still runs the official image's `old_major`."""

    def __init__(self, catalog, old_major: str = "15"):
        super().__init__(catalog)
        self.env = {"PG_MAJOR": old_major, "PGDATA": OLD_PGDATA}

    def __call__(self, argv):
        answer = super().__call__(argv)
        if "printenv" in argv:
            return self.env[argv[-1]] + "\n"
        return answer


@pytest.fixture(scope="module")
def catalog():
    return restore.stack_catalog("staging")


def carried_over(catalog, old_major: str = "15") -> OldPostgresHost:
    host = OldPostgresHost(catalog, old_major)
    upgrade_postgres.carry_over(restore.Stack("staging", run=host), catalog, log=lambda *_: None)
    return host


def is_carry_over(call: list[str]) -> bool:
    return "run" in call and upgrade_postgres.CARRY_OVER_SCRIPT in call


def test_clients_stop_and_a_backup_is_taken_before_the_dump_and_the_old_server_stops_after_it(catalog):
    calls = carried_over(catalog).calls
    stop_api = index(calls, lambda c: "stop" in c and PREFIX + "api" in c)
    backup = index(calls, lambda c: "exec" in c and "backup" in c and PREFIX + "postgres-backup" in c)
    dump = index(calls, is_carry_over)
    stop_pg = index(calls, lambda c: "stop" in c and c[-1] == PREFIX + "postgres")
    stanza = index(calls, lambda c: "exec" in c and "stanza-upgrade" in c)
    stop_backup = index(calls, lambda c: "stop" in c and c[-1] == PREFIX + "postgres-backup")
    assert stop_api < backup < dump < stop_pg < stanza < stop_backup


def test_the_carry_over_runs_in_the_new_official_image_on_the_old_servers_volumes(catalog):
    call = next(c for c in carried_over(catalog).calls if is_carry_over(c))
    assert call[:3] == ["docker", "--host", "ssh://deploy@docker.staging.mlops.iot64.de"]
    assert upgrade_postgres.NEW_IMAGE == "postgres:18.6-trixie" and upgrade_postgres.NEW_IMAGE in call
    assert call[call.index("--volumes-from") + 1] == PREFIX + "postgres"
    assert call[call.index("--user") + 1] == pgbackrest.POSTGRES_UID
    assert call[call.index("--network") + 1] == "none"
    assert f"OLD_PGDATA={OLD_PGDATA}" in call and "NEW_PGDATA=/var/lib/postgresql/18/docker" in call
    assert f"OLD_HOST={pgbackrest.SOCKET_DIR}" in call


def test_the_stanza_is_upgraded_offline_against_the_new_cluster(catalog):
    call = next(c for c in carried_over(catalog).calls if "stanza-upgrade" in c)
    assert "--no-online" in call and "--pg1-path=/var/lib/postgresql/18/docker" in call


def test_a_server_on_the_new_major_already_is_left_alone(catalog):
    host = OldPostgresHost(catalog, old_major=pgbackrest.POSTGRES_MAJOR)
    with pytest.raises(SystemExit, match="runs 18 already"):
        upgrade_postgres.carry_over(restore.Stack("staging", run=host), catalog, log=lambda *_: None)
    assert host.docker("stop") == [] and not any(is_carry_over(c) for c in host.calls)


def test_resume_starts_the_clients_once_the_new_server_is_healthy(catalog):
    host = OldPostgresHost(catalog)
    upgrade_postgres.resume(restore.Stack("staging", run=host), catalog, log=lambda *_: None)
    healthy = index(host.calls, lambda c: "inspect" in c and c[-1] == PREFIX + "postgres")
    start_api = index(host.calls, lambda c: "start" in c and PREFIX + "api" in c)
    assert healthy < start_api
