"""Carry a Docker stack's PostgreSQL cluster over to the major of our image, by dump and restore.

    python -m infra.upgrade_postgres --stack staging carry-over
    pulumi config set --stack staging --path upgrades.allow.postgres 18
    pulumi up --stack staging
    python -m infra.upgrade_postgres --stack staging resume

The official image keeps each major's cluster in /var/lib/postgresql/<major>/docker on the one volume, so a new
major would start on an empty cluster (the preview refuses it: `postgres.unsafe_upgrade`). `carry-over` stops
PostgreSQL's clients (nothing may write after the dump), takes a fresh pgBackRest backup of the old cluster, runs
the new major's `pg_dumpall` against the old server and restores it into the new major's empty cluster, then stops
the old server and upgrades pgBackRest's stanza to the new cluster. The old cluster's directory stays as it was
until you remove it. `resume`, after `pulumi up` started the new image on the carried-over cluster, starts the
clients again. docs/upgrading.md (PostgreSQL) has the whole procedure; tests/upgrades/test_postgres_major_upgrade.py
runs CARRY_OVER_SCRIPT from PostgreSQL 15 to 18.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .catalog.model import Catalog
from .catalog.versions import base_image
from .restore import Stack, dependants, stack_catalog
from .services.data import pgbackrest

#: The new major's official image, the one ours is built on (app/postgres/Dockerfile's FROM): its binaries are the
#: new major's, and it runs as the image's postgres user (uid 999) on the same volume.
NEW_IMAGE = base_image(pgbackrest.POSTGRES_IMAGE.dockerfile)

#: Runs with the new major's binaries first on PATH. OLD_HOST, OLD_PORT (5432): the old server's socket; OLD_PGDATA: its
#: cluster (only read: its access rules are copied); NEW_PGDATA: where the new major's cluster goes, absent or empty.
#: A failure removes what it created of NEW_PGDATA, so it can simply run again.
CARRY_OVER_SCRIPT = r"""
set -euo pipefail
if [ -e "$NEW_PGDATA" ] && [ -n "$(ls -A "$NEW_PGDATA")" ]; then
  echo "$NEW_PGDATA is not empty: a cluster of the new major exists already (remove it only if it holds nothing you need)" >&2
  exit 1
fi
sock=$(mktemp -d)
done=0
cleanup() {
  pg_ctl -D "$NEW_PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$done" != 1 ]; then rm -rf "$NEW_PGDATA"; echo "carry-over failed: $NEW_PGDATA removed, $OLD_PGDATA untouched" >&2; fi
}
trap cleanup EXIT
# As the image's entrypoint creates a cluster (docker-library/postgres 18/trixie/docker-entrypoint.sh:
# docker_create_db_directories, docker_init_database_dir), without a password: the dump brings every role's.
mkdir -p "$NEW_PGDATA"
chmod 700 "$NEW_PGDATA"
initdb -D "$NEW_PGDATA" --username=postgres >/dev/null
# The old cluster's access rules (the entrypoint appended `host all all all scram-sha-256`; any edit of yours).
cp "$OLD_PGDATA/pg_hba.conf" "$OLD_PGDATA/pg_ident.conf" "$NEW_PGDATA/"
pg_ctl -D "$NEW_PGDATA" -w -l "$sock/server.log" -o "-c listen_addresses='' -c unix_socket_directories=$sock" start >/dev/null
# Every role (with its password), database, grant and row. pg_dumpall writes CREATE ROLE for the role it runs as
# too, which initdb created (without this filter: `ERROR: role "postgres" already exists`, 18's pg_dumpall against
# 15 in tests/upgrades/test_postgres_major_upgrade.py); that line alone is dropped, any other error stops the restore.
pg_dumpall -h "$OLD_HOST" -p "${OLD_PORT:-5432}" -U postgres \
  | sed '/^CREATE ROLE postgres;$/d' \
  | psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -U postgres -d postgres >/dev/null
vacuumdb -h "$sock" -U postgres --all --analyze-only --quiet  # the planner's statistics are not in the dump
done=1
echo "PostgreSQL $(cat "$OLD_PGDATA/PG_VERSION") cluster carried over to $(cat "$NEW_PGDATA/PG_VERSION") in $NEW_PGDATA"
"""


def carry_over_argv(stack: Stack, old_pgdata: str) -> list[str]:
    """A one-off container of the new image with the old server's volumes (the data volume, the socket
    directory), no network, hardened as the service is."""
    return [
        *stack.docker, "run", "--rm", "--volumes-from", stack.one("postgres"), "--user", pgbackrest.POSTGRES_UID,
        "--network", "none", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--memory", "1g",
        "--env", f"OLD_HOST={pgbackrest.SOCKET_DIR}", "--env", f"OLD_PGDATA={old_pgdata}",
        "--env", f"NEW_PGDATA={pgbackrest.PGDATA}",
        "--entrypoint", "bash", NEW_IMAGE, "-c", CARRY_OVER_SCRIPT,
    ]  # fmt: skip


def carry_over(stack: Stack, catalog: Catalog, log=print) -> None:
    old_major = stack.exec("postgres", ["printenv", "PG_MAJOR"]).strip()
    if old_major == pgbackrest.POSTGRES_MAJOR:
        raise SystemExit(f"PostgreSQL runs {old_major} already: nothing to carry over")
    old_pgdata = stack.exec("postgres", ["printenv", "PGDATA"]).strip()
    clients = dependants(catalog, "postgres")
    log(f"stopping PostgreSQL's clients: {', '.join(reversed(clients))}")
    stack.stop(list(reversed(clients)))
    backup = "postgres-backup" in stack.containers
    if backup:
        log(f"backing up the PostgreSQL {old_major} cluster (pgBackRest, differential)")
        stack.exec("postgres-backup", list(pgbackrest.BEFORE_MIGRATION.command))
    log(f"carrying {old_pgdata} ({old_major}) over to {pgbackrest.PGDATA} with {NEW_IMAGE}")
    log(stack.run(carry_over_argv(stack, old_pgdata)).strip())
    stack.stop(["postgres"])
    if backup:
        # "Before starting the new cluster, the stanza-upgrade command must be run" (pgbackrest release/2.59.1
        # doc/xml/user-guide.xml, section upgrade-stanza); offline, it reads the new cluster's pg_control.
        log("upgrading pgBackRest's stanza to the new cluster")
        stack.exec("postgres-backup", upgrade_stanza_argv())
        stack.stop(["postgres-backup"])
    log(
        f"done; the {old_major} cluster stays in {old_pgdata}. Next: `pulumi config set --stack {stack.name} --path "
        f"upgrades.allow.postgres {pgbackrest.POSTGRES_MAJOR}`, `pulumi up --stack {stack.name}`, then "
        f"`python -m infra.upgrade_postgres --stack {stack.name} resume`"
    )


def upgrade_stanza_argv() -> list[str]:
    return ["pgbackrest", "--stanza=main", "--no-online", f"--pg1-path={pgbackrest.PGDATA}", "stanza-upgrade"]


def resume(stack: Stack, catalog: Catalog, log=print) -> None:
    """After `pulumi up` replaced PostgreSQL (and postgres-backup) with the new image: its clients start again."""
    clients = dependants(catalog, "postgres")
    stack.wait_healthy("postgres")
    log(f"starting {', '.join(clients)}")
    stack.start(clients)
    log(f"done; now run `python -m infra.verify --stack {stack.name}`")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.upgrade_postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("carry-over", help="stop the clients, dump and restore into the new major's cluster")
    steps.add_parser("resume", help="after `pulumi up` with the new image: start the clients again")
    args = parser.parse_args(argv)
    stack = Stack(args.stack)
    (carry_over if args.step == "carry-over" else resume)(stack, stack_catalog(args.stack))


if __name__ == "__main__":
    main(sys.argv[1:])
