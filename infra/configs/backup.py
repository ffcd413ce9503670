"""Backups to a target outside the platform: pgBackRest for PostgreSQL (WAL archive + base
backups, point-in-time recovery) and rclone for the object store, both encrypted.

The same renderers feed the containers and the restore drill in tests/backup, so what is
tested is what is deployed. Option names are pgBackRest's (pgbackrest.org/configuration.html;
`pgbackrest help backup` of the Debian 2.45 package lists the same `repo1-*` options) and
rclone's (rclone.org/s3, rclone.org/crypt).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

STANZA = "main"
#: WAL is shipped at least this often even when idle: the recovery point objective's bound.
ARCHIVE_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class LocalTarget:
    """A directory (a volume of its own): the dev stack's stand-in for an off-host bucket."""

    path: str


@dataclass(frozen=True)
class S3Target:
    """An S3-compatible bucket outside the platform's own object store."""

    endpoint: str  # host[:port], without scheme: pgBackRest speaks HTTPS only
    bucket: str
    region: str = "us-east-1"
    uri_style: str = "path"  # `host` for AWS virtual-hosted buckets
    verify_tls: bool = True
    ca_file: str | None = None

    @property
    def host(self) -> str:
        return self.endpoint.rsplit(":", 1)[0] if ":" in self.endpoint else self.endpoint

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1]) if ":" in self.endpoint else 443


@dataclass(frozen=True)
class Retention:
    """PostgreSQL keeps `full` weekly full backups with daily differentials between them;
    object snapshots keep `daily`, `weekly` and `monthly` dated copies."""

    full: int = 4
    diff: int = 7
    daily: int = 7
    weekly: int = 4
    monthly: int = 6


def pgbackrest_conf(
    target: S3Target | LocalTarget,
    pg_path: str,
    retention: Retention = Retention(),
    pg_port: int = 5432,
    pg_socket_path: str | None = None,
    repo_path: str = "/pgbackrest",
    log_path: str | None = None,
    lock_path: str | None = None,
    spool_path: str | None = None,
) -> str:
    """pgbackrest.conf without secrets: the S3 key pair and the cipher passphrase come from the
    environment (PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET, PGBACKREST_REPO1_CIPHER_PASS)."""
    if isinstance(target, LocalTarget):
        lines = ["[global]", "repo1-type=posix", f"repo1-path={target.path}{repo_path}"]
    else:
        lines = [
            "[global]",
            "repo1-type=s3",
            f"repo1-path={repo_path}",
            f"repo1-s3-endpoint={target.host}",
            f"repo1-storage-port={target.port}",
            f"repo1-s3-bucket={target.bucket}",
            f"repo1-s3-region={target.region}",
            f"repo1-s3-uri-style={target.uri_style}",
            f"repo1-storage-verify-tls={'y' if target.verify_tls else 'n'}",
        ]
        if target.ca_file:
            lines.append(f"repo1-storage-ca-file={target.ca_file}")
    lines += [
        "repo1-cipher-type=aes-256-cbc",
        f"repo1-retention-full={retention.full}",
        f"repo1-retention-diff={retention.diff}",
        "compress-type=zst",
        "start-fast=y",
        "archive-async=n",
        "log-level-console=warn",
        "log-level-file=off",
    ]
    for key, value in (("log-path", log_path), ("lock-path", lock_path), ("spool-path", spool_path)):
        if value:
            lines.append(f"{key}={value}")
    lines += ["", f"[{STANZA}]", f"pg1-path={pg_path}", f"pg1-port={pg_port}"]
    if pg_socket_path:
        lines.append(f"pg1-socket-path={pg_socket_path}")
    return "\n".join(lines) + "\n"


def archive_settings(config_path: str) -> dict[str, str]:
    """PostgreSQL settings (`-c key=value`) that ship every WAL segment to the repository."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"pgbackrest --config={config_path} --stanza={STANZA} archive-push %p",
        "archive_timeout": f"{ARCHIVE_TIMEOUT_SECONDS}s",
        "max_wal_senders": "3",
    }


def restore_argv(config_path: str, target_time: str | None = None) -> list[str]:
    """pgBackRest's point-in-time restore into an existing (stopped) data directory.

    `--delta` rewrites only what differs, `--target-action=promote` opens the database for
    writes once the target is reached (the default, pause, would leave it read-only).
    """
    argv = ["pgbackrest", f"--config={config_path}", f"--stanza={STANZA}", "--delta"]
    if target_time:
        argv += ["--type=time", f"--target={target_time}", "--target-action=promote"]
    return argv + ["restore"]


def rclone_conf(platform_endpoint: str, platform_access_key: str, target: S3Target | LocalTarget) -> str:
    """Two S3 remotes and an encrypted view of the target (`vault:`). Secrets come from the
    environment: RCLONE_CONFIG_PLATFORM_SECRET_ACCESS_KEY, RCLONE_CONFIG_TARGET_ACCESS_KEY_ID,
    RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY, and RCLONE_CONFIG_VAULT_PASSWORD (the passphrase in
    `rclone obscure` form, which the backup script derives from BACKUP_PASSPHRASE)."""
    platform = textwrap.dedent(
        f"""\
        [platform]
        type = s3
        provider = Other
        endpoint = {platform_endpoint}
        access_key_id = {platform_access_key}
        force_path_style = true
        """
    )
    vault = textwrap.dedent(
        """
        [vault]
        type = crypt
        remote = {remote}
        filename_encryption = standard
        directory_name_encryption = true
        """
    )
    if isinstance(target, LocalTarget):
        return platform + vault.format(remote=f"{target.path}/objects")
    scheme_endpoint = target.endpoint if "://" in target.endpoint else f"https://{target.endpoint}"
    return platform + textwrap.dedent(
        f"""
        [target]
        type = s3
        provider = Other
        endpoint = {scheme_endpoint}
        region = {target.region}
        force_path_style = {'true' if target.uri_style == 'path' else 'false'}
        """
    ) + vault.format(remote=f"target:{target.bucket}/objects")


#: Metrics every backup loop writes for the node exporter's textfile collector.
METRICS_HELP = r"""
write_metrics() {  # kind status started_epoch size_bytes
  out="$TEXTFILE_DIR/backup_$1.prom"
  last_ok=0
  if [ -f "$out" ]; then
    last_ok=$(sed -n "s/^mlops_backup_last_success_timestamp_seconds{kind=\"$1\"} //p" "$out")
  fi
  now=$(date +%s)
  [ "$2" = ok ] && last_ok=$now
  {
    echo "# HELP mlops_backup_last_success_timestamp_seconds End of the last successful backup."
    echo "# TYPE mlops_backup_last_success_timestamp_seconds gauge"
    echo "mlops_backup_last_success_timestamp_seconds{kind=\"$1\"} ${last_ok:-0}"
    echo "# HELP mlops_backup_duration_seconds Run time of the last backup attempt."
    echo "# TYPE mlops_backup_duration_seconds gauge"
    echo "mlops_backup_duration_seconds{kind=\"$1\"} $((now - $3))"
    echo "# HELP mlops_backup_size_bytes Size of the last successful backup in the target."
    echo "# TYPE mlops_backup_size_bytes gauge"
    echo "mlops_backup_size_bytes{kind=\"$1\"} ${4:-0}"
    echo "# HELP mlops_backup_last_attempt_failed 1 when the last backup attempt failed."
    echo "# TYPE mlops_backup_last_attempt_failed gauge"
    echo "mlops_backup_last_attempt_failed{kind=\"$1\"} $([ "$2" = ok ] && echo 0 || echo 1)"
  } > "$out.tmp"
  mv "$out.tmp" "$out"
}
"""

#: Configuration that is not provisioned from code: RabbitMQ's definitions (its management
#: API) and Grafana's database (users, annotations, dashboards made by hand), into
#: `vault:config/<stamp>/` beside the object snapshots. `--s3-no-check-bucket` as for the syncs:
#: without it rclone first tries to create the target bucket, which a target key scoped to one
#: bucket may not do (and an S3 endpoint of another region refuses without a location constraint).
CONFIG_BACKUP_STEP = r"""
config_backup() {  # stamp
  wget -q -O /tmp/rabbitmq-definitions.json \
    --header "Authorization: Basic $(printf '%s:%s' "$RABBITMQ_USER" "$RABBITMQ_PASSWORD" | base64)" \
    "$RABBITMQ_API/api/definitions"
  rclone copyto /tmp/rabbitmq-definitions.json "vault:config/$1/rabbitmq-definitions.json" --s3-no-check-bucket
  rm -f /tmp/rabbitmq-definitions.json
  rclone copyto "$GRAFANA_DB" "vault:config/$1/grafana.db" --s3-no-check-bucket
}
"""

#: Object snapshots: `vault:current/<bucket>` mirrors each bucket; what a sync replaces or
#: deletes moves to `vault:history/<UTC stamp>/<bucket>`, so any snapshot can be rebuilt.
#: Dated history folders are pruned to the newest per day/week/month within the counts.
#: Env: BUCKETS, BACKUP_PASSPHRASE, RCLONE_CONFIG (file), the two S3 secrets, TEXTFILE_DIR,
#: KEEP_DAILY/KEEP_WEEKLY/KEEP_MONTHLY, INTERVAL (seconds); ONCE=1 runs one round.
OBJECT_BACKUP_SCRIPT = (
    r"""
set -eu
RCLONE_CONFIG_VAULT_PASSWORD=$(rclone obscure "$BACKUP_PASSPHRASE")
export RCLONE_CONFIG_VAULT_PASSWORD
"""
    + METRICS_HELP
    + CONFIG_BACKUP_STEP
    + r"""
prune() {  # folder: keep the newest stamp per day, week and month within the counts
  rclone lsf --dirs-only "vault:$1" | tr -d / | sort -r | awk \
    -v d="$KEEP_DAILY" -v w="$KEEP_WEEKLY" -v m="$KEEP_MONTHLY" '
    function days(s,   y, mo, dd) {  # days since 1970-01-01 of a YYYY-MM-DD prefix
      y = substr(s, 1, 4) + 0; mo = substr(s, 6, 2) + 0; dd = substr(s, 9, 2) + 0
      if (mo <= 2) { y -= 1; mo += 12 }
      return int(365.25 * (y + 4716)) + int(30.6001 * (mo + 1)) + dd - 2442112 + int(y / 400) - int(y / 100) + 2
    }
    {
      keep = 0
      day = substr($0, 1, 10); week = int((days($0) + 3) / 7); month = substr($0, 1, 7)
      if (!(day in D) && nd < d) { D[day] = 1; nd++; keep = 1 }
      if (!(week in W) && nw < w) { W[week] = 1; nw++; keep = 1 }
      if (!(month in M) && nm < m) { M[month] = 1; nm++; keep = 1 }
      if (!keep) print
    }' | while read -r stamp; do
      rclone purge "vault:$1/$stamp"
    done
}

while true; do
  started=$(date +%s)
  stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
  status=ok
  for bucket in $BUCKETS; do
    if ! rclone sync "platform:$bucket" "vault:current/$bucket" --backup-dir "vault:history/$stamp/$bucket" \
        --checksum --s3-no-check-bucket; then
      status=failed
    fi
  done
  if [ -n "${RABBITMQ_API:-}" ]; then
    config_backup "$stamp" || status=failed
  fi
  if [ "$status" = ok ]; then
    prune history && prune config || status=failed
  fi
  size=$(rclone size --json vault: 2>/dev/null | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p')
  write_metrics objects "$status" "$started" "$size"
  if [ "${ONCE:-0}" = 1 ]; then [ "$status" = ok ]; exit $?; fi
  sleep "$INTERVAL"
done
"""
)


def object_restore_argv(bucket: str, history: list[str], after: str | None) -> list[list[str]]:
    """rclone commands that rebuild `bucket` as of `after` (a history stamp) or its latest state.

    Object keys in the platform are unique and never rewritten, so the state at a point in
    time is the current mirror plus whatever later syncs removed: copying those history
    folders back restores every object a restored database can reference.
    """
    steps = [["rclone", "copy", f"vault:current/{bucket}", f"platform:{bucket}", "--checksum"]]
    for stamp in sorted(history):
        if after is not None and stamp > after:
            steps.append(["rclone", "copy", f"vault:history/{stamp}/{bucket}", f"platform:{bucket}", "--checksum"])
    return steps


#: Runs beside PostgreSQL as its user, on its data volume and socket: a base backup every
#: INTERVAL seconds (full when the last full is older than FULL_EVERY seconds, else
#: differential; pgBackRest turns the first one into a full by itself), and every minute the
#: WAL archiver's state from pg_stat_archiver, all for the node exporter's textfile collector.
#: ONCE=1 runs one round.
POSTGRES_BACKUP_SCRIPT = (
    r"""
set -eu
"""
    + METRICS_HELP
    + r"""
until pgbackrest --stanza=main stanza-create; do sleep 30; done  # idempotent; waits for the cluster
last_run=0
while true; do
  now=$(date +%s)
  if [ $((now - last_run)) -ge "$INTERVAL" ]; then
    last_run=$now
    last_full=$(sed -n 's/^mlops_backup_last_full_timestamp_seconds //p' "$TEXTFILE_DIR/backup_postgres_full.prom" 2>/dev/null || true)
    kind=diff
    [ $((now - ${last_full:-0})) -ge "$FULL_EVERY" ] && kind=full
    status=ok
    pgbackrest --stanza=main --type="$kind" backup || status=failed
    size=$(pgbackrest --stanza=main --output=json info | sed -n 's/.*"repository":{"delta":[0-9]*,"size":\([0-9]*\)}.*/\1/p')
    write_metrics postgres "$status" "$now" "$size"
    if [ "$status" = ok ] && [ "$kind" = full ]; then
      printf '# TYPE mlops_backup_last_full_timestamp_seconds gauge\nmlops_backup_last_full_timestamp_seconds %s\n' "$now" \
        > "$TEXTFILE_DIR/backup_postgres_full.prom"
    fi
  fi
  psql -h "$PGHOST" -U postgres -d postgres -At -F ' ' -c \
    "SELECT coalesce(extract(epoch FROM last_archived_time)::bigint, 0), failed_count,
            coalesce(extract(epoch FROM last_failed_time)::bigint, 0) FROM pg_stat_archiver" \
    | { read -r archived failed last_failed
        {
          echo "# TYPE mlops_backup_wal_last_archived_timestamp_seconds gauge"
          echo "mlops_backup_wal_last_archived_timestamp_seconds $archived"
          echo "# TYPE mlops_backup_wal_failed_total counter"
          echo "mlops_backup_wal_failed_total $failed"
          echo "# TYPE mlops_backup_wal_last_failed_timestamp_seconds gauge"
          echo "mlops_backup_wal_last_failed_timestamp_seconds $last_failed"
        } > "$TEXTFILE_DIR/backup_wal.prom.tmp" && mv "$TEXTFILE_DIR/backup_wal.prom.tmp" "$TEXTFILE_DIR/backup_wal.prom"
      } || true
  if [ "${ONCE:-0}" = 1 ]; then [ "$status" = ok ]; exit $?; fi
  sleep 60
done
"""
)


#: postgres-backup is healthy while pgBackRest reaches the repository (over TLS, with the configured CA, key and
#: cipher passphrase) and the stanza exists: `info` reports stanza status 0 "ok" or 2 "no valid backups" (before the
#: first full one). Status codes: pgbackrest release/2.59.0 src/command/info/info.c L91-106; the stanza's status is
#: the last `"status":{"code":N` of the JSON. Without it the container inherits its image's HEALTHCHECK (pg_isready
#: against 127.0.0.1, where nothing listens in this container), which never passes.
POSTGRES_BACKUP_HEALTHCHECK = (
    r"""code=$(pgbackrest --stanza=main --output=json info | sed -n 's/.*"status":{"code":\([0-9]*\).*/\1/p'); """
    r"""[ "$code" = 0 ] || [ "$code" = 2 ]"""
)


def object_backup_healthcheck(platform_bucket: str, target: S3Target | LocalTarget) -> str:
    """object-backup is healthy while rclone reaches the platform's store and the target (over TLS with the
    trusted CA and the key pair, for an S3 target): a one-level listing of each, nothing written."""
    check = f"rclone lsf --max-depth 1 platform:{platform_bucket} >/dev/null"
    if isinstance(target, S3Target):
        check += f" && rclone lsf --max-depth 1 target:{target.bucket} >/dev/null"
    return check
