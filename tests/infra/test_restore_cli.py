"""`python -m infra.restore` drives a deployed stack in the right order (the tools it runs are
exercised for real by the restore drill in tests/backup)."""

from __future__ import annotations

import json

import pytest

from infra import restore
from infra.services.data import pgbackrest

PREFIX = "mlops-platform-staging-"


class FakeHost:
    """Answers what `pulumi` and `docker` would for a deployed staging stack; records each call."""

    def __init__(self, catalog):
        self.calls: list[list[str]] = []
        self.containers = {
            name: [f"{PREFIX}{name}-{i}" for i in range(1, spec.replicas + 1)] if spec.replicas > 1 else [PREFIX + name]
            for name, spec in catalog.services.items()
        }

    def __call__(self, argv):
        argv = list(argv)
        self.calls.append(argv)
        if argv[:3] == ["pulumi", "stack", "output"]:
            return json.dumps(self.containers)
        if argv[:3] == ["pulumi", "config", "get"]:
            return "ssh://deploy@docker.staging.mlops.iot64.de\n"
        if "inspect" in argv:
            return "healthy\n"
        if "lsf" in argv:
            if argv[-1] == "vault:":
                return "config/\ncurrent/\nhistory/\n"
            return "2026-11-27T000000Z/\n2026-11-28T000000Z/\n"
        return ""

    def docker(self, verb: str) -> list[list[str]]:
        return [c for c in self.calls if c[:1] == ["docker"] and verb in c]


@pytest.fixture(scope="module")
def catalog():
    return restore.stack_catalog("staging")


@pytest.fixture
def host(catalog):
    return FakeHost(catalog)


def index(calls, predicate) -> int:
    return next(i for i, c in enumerate(calls) if predicate(c))


def test_everything_that_uses_postgres_stops_before_it_and_starts_after_it(host, catalog):
    stack = restore.Stack("staging", run=host)
    restore.restore_postgres(stack, catalog, "2026-12-01 10:15:00+00", log=lambda *_: None)
    calls = host.calls
    stop_pg = index(calls, lambda c: "stop" in c and c[-1] == PREFIX + "postgres")
    stop_api = index(calls, lambda c: "stop" in c and PREFIX + "api" in c)
    restore_at = index(calls, lambda c: "exec" in c and "restore" in c)
    start_pg = index(calls, lambda c: "start" in c and c[-1] == PREFIX + "postgres")
    start_api = index(calls, lambda c: "start" in c and PREFIX + "api" in c)
    assert stop_api < stop_pg < restore_at < start_pg < start_api
    stopped = {name for c in host.docker("stop") for name in c[c.index("stop") + 1 :]}
    assert {PREFIX + "mlflow", PREFIX + "processor-1", PREFIX + "processor-2"} <= stopped
    assert PREFIX + "postgres-backup" not in stopped  # it runs the restore


def test_the_restore_runs_pgbackrest_in_the_backup_container_to_the_given_time(host, catalog):
    restore.restore_postgres(restore.Stack("staging", run=host), catalog, "2026-12-01 10:15:00+00", log=lambda *_: None)
    call = next(c for c in host.docker("exec") if "restore" in c)
    assert call[:3] == ["docker", "--host", "ssh://deploy@docker.staging.mlops.iot64.de"]
    assert call[4] == PREFIX + "postgres-backup"
    assert f"--config={pgbackrest.PGBACKREST_CONF}" in call
    assert {"--type=time", "--target=2026-12-01 10:15:00+00", "--target-action=promote", "--delta"} <= set(call)


def test_dependants_wait_until_postgres_is_healthy_again(catalog):
    states = iter(["starting\n", "starting\n", "healthy\n"])

    class Slow(FakeHost):
        def __call__(self, argv):
            if "inspect" in argv:
                self.calls.append(list(argv))
                return next(states)
            return super().__call__(argv)

    host = Slow(catalog)
    stack = restore.Stack("staging", run=host)
    stack.wait_healthy("postgres", poll=0)
    assert len(host.docker("inspect")) == 3


def test_objects_come_back_from_the_snapshot_and_later_history(host):
    stack = restore.Stack("staging", run=host)
    restore.restore_objects(stack, ["pipeline-data"], "2026-11-27T000000Z", log=lambda *_: None)
    copies = [c for c in host.docker("exec") if "copy" in c]
    sources = [c[c.index("copy") + 1] for c in copies]
    assert sources == ["vault:current/pipeline-data", "vault:history/2026-11-28T000000Z/pipeline-data"]
    assert all(c[4] == PREFIX + "object-backup" for c in copies)
