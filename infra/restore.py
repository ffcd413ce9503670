"""Restore a deployed stack's data from its backups, one command per kind.

    python -m infra.restore --stack staging list
    python -m infra.restore --stack staging postgres --to "2026-12-01 10:15:00+00"
    python -m infra.restore --stack staging postgres             # newest state the archive holds
    python -m infra.restore --stack staging objects [--as-of 2026-12-01T101500Z]

It talks to the stack's Docker host (`docker:host` of the stack, over ssh) and runs the
restore inside the backup containers, which hold the tools, the configuration and the
secrets: PostgreSQL and everything that depends on it are stopped (dependants first, from
the catalog's startup edges), pgBackRest restores into the data volume, PostgreSQL replays
WAL to the target and is promoted, then everything starts again in startup order. The
steps are the ones the restore drill (tests/backup) runs against real services.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import yaml

from .services.data import pgbackrest
from .assembly import offline_catalog
from .catalog.model import Catalog
from .configs import backup as cfg
from .settings import PROJECT

REPO = Path(__file__).resolve().parents[1]
HEALTH_TIMEOUT_SECONDS = 600

Run = Callable[[Sequence[str]], str]


def run_command(argv: Sequence[str]) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{shlex.join(argv[:4])} ... failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result.stdout


def stack_catalog(stack: str) -> Catalog:
    """The stack's catalog, read from its stack file: which containers depend on which."""
    path = REPO / f"Pulumi.{stack}.yaml"
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {} if path.exists() else {}
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    return offline_catalog(stack, raw)[1]


def dependants(catalog: Catalog, service: str) -> list[str]:
    """Services that (transitively) depend on `service`, in startup order."""
    found: set[str] = set()
    for name in catalog.startup_order():
        if any(d.service == service or d.service in found for d in catalog.services[name].depends_on):
            found.add(name)
    return [n for n in catalog.startup_order() if n in found and n not in ("postgres-backup",)]


class Stack:
    """A deployed stack: its containers (stack output `containers`) on its Docker host."""

    def __init__(self, name: str, run: Run = run_command):
        self.name = name
        self.run = run
        self.containers: dict[str, list[str]] = json.loads(
            run(["pulumi", "stack", "output", "--stack", name, "--json", "containers"])
        )
        try:
            host = run(["pulumi", "config", "get", "docker:host", "--stack", name]).strip()
        except SystemExit:
            host = ""
        self.docker = ["docker", *(["--host", host] if host else [])]

    def one(self, service: str) -> str:
        return self.containers[service][0]

    def exec(self, service: str, argv: Sequence[str]) -> str:
        return self.run([*self.docker, "exec", self.one(service), *argv])

    def stop(self, services: Sequence[str]) -> None:
        names = [c for s in services for c in self.containers.get(s, [])]
        if names:
            self.run([*self.docker, "stop", *names])

    def start(self, services: Sequence[str]) -> None:
        for service in services:  # in startup order, as `pulumi up` created them
            names = self.containers.get(service, [])
            if names:
                self.run([*self.docker, "start", *names])

    def wait_healthy(self, service: str, timeout: float = HEALTH_TIMEOUT_SECONDS, poll: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = self.run([*self.docker, "inspect", "--format", "{{.State.Health.Status}}", self.one(service)]).strip()
            if status == "healthy":
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"{service} is '{status}' after {timeout:.0f}s; see `docker logs {self.one(service)}`")
            time.sleep(poll)


def restore_postgres(stack: Stack, catalog: Catalog, target_time: str | None, log=print) -> None:
    started = time.monotonic()
    after = dependants(catalog, "postgres")
    log(f"stopping {', '.join(reversed(after))} and postgres")
    stack.stop(list(reversed(after)))
    stack.stop(["postgres"])
    log(f"restoring PostgreSQL to {target_time or 'the newest archived state'}")
    stack.exec("postgres-backup", cfg.restore_argv(pgbackrest.PGBACKREST_CONF, target_time))
    stack.start(["postgres"])
    stack.wait_healthy("postgres")
    stack.start(after)
    log(f"PostgreSQL restored in {time.monotonic() - started:.0f}s; now run `python -m infra.verify --stack {stack.name}`")


def vault_shell(argv: Sequence[str]) -> list[str]:
    """An rclone command inside object-backup, with the vault's passphrase in rclone's form."""
    return ["sh", "-c", 'RCLONE_CONFIG_VAULT_PASSWORD=$(rclone obscure "$BACKUP_PASSPHRASE") exec "$@"', "rclone", *argv]


def history(stack: Stack) -> list[str]:
    """Dated history folders; none until a sync has replaced or deleted something."""
    def lsf(path: str) -> list[str]:
        out = stack.exec("object-backup", vault_shell(["rclone", "lsf", "--dirs-only", path]))
        return [line.rstrip("/") for line in out.split()]

    return lsf("vault:history") if "history" in lsf("vault:") else []


def restore_objects(stack: Stack, buckets: Sequence[str], as_of: str | None, log=print) -> None:
    stamps = history(stack)
    for bucket in buckets:
        for argv in cfg.object_restore_argv(bucket, stamps, as_of):
            log(f"{bucket}: {' '.join(argv[1:4])}")
            stack.exec("object-backup", vault_shell(argv))


def list_backups(stack: Stack, log=print) -> None:
    log(stack.exec("postgres-backup", ["pgbackrest", f"--config={pgbackrest.PGBACKREST_CONF}", "--stanza=main", "info"]))
    log("object snapshots (history stamps): " + ", ".join(history(stack)))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.restore", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    kinds = parser.add_subparsers(dest="kind", required=True)
    kinds.add_parser("list", help="backups and object snapshots the target holds")
    pg = kinds.add_parser("postgres", help="point-in-time recovery of PostgreSQL (jobs, data sets, MLflow registry)")
    pg.add_argument("--to", metavar="TIME", help='e.g. "2026-12-01 10:15:00+00"; default: newest archived state')
    objects = kinds.add_parser("objects", help="data sets, results and MLflow artifacts")
    objects.add_argument("--as-of", metavar="STAMP", help="a history stamp from `list`; default: newest snapshot")
    args = parser.parse_args(argv)
    stack = Stack(args.stack)
    if args.kind == "list":
        list_backups(stack)
    elif args.kind == "postgres":
        restore_postgres(stack, stack_catalog(args.stack), args.to)
    else:
        from .services.data.minio import MLFLOW_BUCKET, PIPELINE_BUCKET

        restore_objects(stack, (PIPELINE_BUCKET, MLFLOW_BUCKET), args.as_of)


if __name__ == "__main__":
    main(sys.argv[1:])
