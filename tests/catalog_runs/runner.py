"""Starts a stack's catalog the way Docker would, service by service in the catalog's start-up
order: each container with exactly its catalog command, environment and uploaded files, healthy
when the catalog's own healthcheck passes inside it, then its bootstrap script (`docker exec -i
... sh -s`). Each root is built from the image's facts (infra/catalog/image_facts.yaml): its users
and uid, its CA store, and named volumes owned as Docker creates them. What cannot run here is
left out, except MinIO, whose S3 API moto stands in for as a peer (so MLflow and the pipeline find
`minio:9000`; the MinIO container itself is covered by a contract fixture), and the stack's backup
target, an HTTPS S3 server (moto behind nginx) whose private CA the run's stack trusts.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from infra.assembly import build_catalog
from infra.catalog.context import CatalogContext
from infra.catalog.image_facts import ImageFacts, created_volume, facts_for
from infra.catalog.model import Catalog, HostMount, Mount, ServiceSpec, volume_group_script
from infra.targets.docker.components import routing_env
from infra.settings import PROJECT, PlatformSettings, parse_settings

from .images import RUNNABLE, BuiltRun, ImageRun, argv, program_available
from .sandbox import Container, Network
from .secrets import RandomSecrets

REPO = Path(__file__).resolve().parents[2]
RUN_STACK = "staging"  # TLS with the certificate prober: the stack with the most services
S3_PEER_BUCKETS = ("pipeline-data", "mlflow-artifacts")  # what MinIO's bootstrap creates


def shipped_stacks() -> list[str]:
    return sorted(p.name.split(".")[1] for p in REPO.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict:
    """The stack file's project settings, as `pulumi up --stack X` reads them (prefix stripped)."""
    raw = (yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config") or {}
    return {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith(f"{PROJECT}:")}


def stack_catalog(stack: str, secrets=None, config: dict | None = None) -> tuple[PlatformSettings, Catalog]:
    settings = parse_settings(stack, config or stack_config(stack), offline=True)  # no encrypted secrets here
    return settings, build_catalog(CatalogContext(settings, secrets or RandomSecrets()))


#: The backup target the run's stack is pointed at, as an operator points a stack at theirs: an S3 server over
#: HTTPS whose certificate a private CA issued, which the stack trusts by `backup.target.caCertificate`.
BACKUP_TARGET = "backup-target"
BACKUP_BUCKET = "platform-backups"


def with_backup_target(config: dict, ca_pem: str) -> dict:
    target = {**config["backup"]["target"], "endpoint": BACKUP_TARGET, "bucket": BACKUP_BUCKET, "caCertificate": ca_pem}
    return {**config, "backup": {**config["backup"], "target": target}}


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def slowdown() -> float:
    """How much slower than an idle host this machine runs now (load per core, 1..10). Docker's
    timeouts assume an idle host; on a shared, overloaded test machine a CLI healthcheck such as
    `rabbitmq-diagnostics` alone can take 30 s. Timeouts and budgets are scaled by it."""
    return min(10.0, max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)))


def ids(pair: tuple[int, int]) -> str:
    return f"{pair[0]}:{pair[1]}"


def container_env(run: ImageRun, spec: ServiceSpec, settings: PlatformSettings) -> dict[str, str]:
    """Image ENV, overridden by the container's env (the catalog's, as infra.targets.docker.components sets it)."""
    return {**run.env, **spec.env, **spec.secret_env, **routing_env(settings, spec)}


@dataclass
class Outcome:
    healthy: bool = False
    detail: str = ""
    bootstrap: list = field(default_factory=list)  # CompletedProcess of each bootstrap run


class CatalogRun:
    def __init__(self, stack: str = RUN_STACK):
        from tests.backup.target import write_certificates

        self.certificates = Path(tempfile.mkdtemp(prefix="catrun-ca-"))
        self.certificates.chmod(0o755)  # nginx's workers (not root) keep their proxy buffers under it
        ca, _, _ = self.target_tls = write_certificates(self.certificates, BACKUP_TARGET)
        self.settings, self.catalog = stack_catalog(stack, config=with_backup_target(stack_config(stack), ca.read_text()))
        order = self.catalog.startup_order()
        self.runnable = [n for n in order if n in RUNNABLE and program_available(RUNNABLE[n])]
        self.peers = [n for n in ("minio",) if n in self.catalog.services]
        self.net = Network([BACKUP_TARGET, *self.runnable, *self.peers])
        for name in [*self.runnable, *self.peers]:  # Docker's backend aliases; one replica runs here
            spec = self.catalog.services[name]
            self.net.aliases[name] = [n for n in (spec.hostname, f"{name}-1" if spec.replicas > 1 else None) if n]
        self.containers: dict[str, Container] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.images: dict[str, ImageRun] = {}
        self.volumes: dict[str, str] = {}  # volume -> its directory here

    def start_all(self) -> "CatalogRun":
        self._start_backup_target()
        for name in self.catalog.startup_order():
            if name in self.peers:
                self._start_s3_peer(name)
            elif name in self.runnable:
                self.outcomes[name] = self._start(name)
        return self

    def close(self) -> None:
        self.net.close()
        subprocess.run(["rm", "-rf", str(self.certificates)], check=False)

    # -- one service ------------------------------------------------------------------------------
    def _start(self, name: str) -> Outcome:
        spec = self.catalog.services[name]
        failed = [d.service for d in spec.depends_on if d.service in self.outcomes and not self.outcomes[d.service].healthy]
        if failed:
            return Outcome(detail=f"not started: dependency {failed} not healthy")
        entry = RUNNABLE[name]
        try:
            run = entry.resolve() if isinstance(entry, BuiltRun) else entry
        except RuntimeError as exc:
            return Outcome(detail=str(exc))
        self.images[name] = run
        facts = facts_for(spec)
        container = self.net.start(
            name, argv(run, spec.command, spec.entrypoint), env=container_env(run, spec, self.settings),
            user=ids(facts.resolve_user(spec.user or run.user)), exec_user=ids(facts.resolve_user(spec.user)),
            workdir=run.workdir, hostname=spec.hostname or name, binds=self._binds(run, spec, facts),
            files={f.path: run.file_gap(f.path, f.content) if run.file_gap else f.content for f in spec.files},
            users=facts.users, ca_store=facts.ca_bundle not in (None, "unread"), caps=spec.hardening.cap_add,
            prelude=run.prelude,
        )  # fmt: skip
        self.containers[name] = container
        outcome = self._wait_healthy(container, spec)
        if outcome.healthy and spec.bootstrap:
            # Twice: the catalog promises the script is idempotent (it runs again on every change).
            for _ in range(2):
                result = container.exec(["sh", "-s"], env=dict(spec.bootstrap.env), stdin=spec.bootstrap.script, timeout=120)
                outcome.bootstrap.append(result)
        return outcome

    def _binds(self, run: ImageRun, spec: ServiceSpec, facts: ImageFacts) -> dict[str, tuple[str, bool]]:
        binds = {path: (host, True) for path, host in run.binds.items()}
        for path in run.fresh_dirs:
            fact = facts.paths[path]  # an image directory the program writes: its owner and mode in the image
            binds[path] = (self.net.directory(f"{spec.name}{path}", *fact.owner, fact.mode), False)
        for mount in spec.mounts:
            if isinstance(mount, Mount):
                binds[mount.path] = (self._volume(mount.volume), mount.read_only)
            elif isinstance(mount, HostMount):
                binds[mount.path] = (mount.host_path, mount.read_only)
        return binds

    def _volume(self, volume: str) -> str:
        """A named volume as Docker creates it for the stack's containers that mount it (their image facts), then
        given to the group of each service with `fs_group` that writes it, as the Docker target does first."""
        if volume not in self.volumes:
            mounts = [(s, m) for s in self.catalog.services.values() for m in s.mounts if isinstance(m, Mount) and m.volume == volume]
            uid, gid, mode = created_volume([(facts_for(s), m.path, m.read_only) for s, m in mounts])
            path = self.net.directory(f"volumes/{volume}", uid, gid, mode)
            for s in {s.name: s for s, m in mounts if s.fs_group is not None and not m.read_only}.values():
                subprocess.run(["sh", "-c", volume_group_script(s.fs_group, [path])], check=True)
            if volume == "grafana" and "grafana" not in self.runnable:
                # Grafana is not run here (a contract fixture): its database stands in for what its first start
                # creates, which object-backup copies (created as Grafana's user, as Grafana would).
                db = Path(path) / "grafana.db"
                sqlite3.connect(db).execute("CREATE TABLE stand_in (id INTEGER)").connection.close()
                os.chown(db, *facts_for(self.catalog.services["grafana"]).user)
            self.volumes[volume] = path
        return self.volumes[volume]

    def _wait_healthy(self, container: Container, spec: ServiceSpec) -> Outcome:
        """Poll the catalog's healthcheck (or, without one, the metrics endpoint Prometheus scrapes)
        within Docker's budget: start period plus `retries` failed intervals."""
        hc = spec.healthcheck
        factor = slowdown()
        if hc is not None:
            budget = factor * (seconds(hc.start_period) + hc.retries * (seconds(hc.interval) + seconds(hc.timeout)))
            kind, test = hc.test[0], list(hc.test[1:])
            argv_ = test if kind == "CMD" else ["/bin/sh", "-c", test[0]]
            probe = lambda: container.exec(argv_, timeout=factor * seconds(hc.timeout))  # noqa: E731
            what = f"healthcheck {hc.test[1:]} (timeouts x{factor:.1f} for this machine's load)"
        elif spec.metrics is not None:
            budget = factor * 120.0
            url = f"http://{container.address}:{spec.metrics.port}{spec.metrics.path}"
            probe = lambda: _http_probe(url)  # noqa: E731
            what = f"metrics endpoint {url} (no healthcheck in the catalog)"
        else:
            return Outcome(detail="no healthcheck and no metrics endpoint to wait for")
        deadline = time.monotonic() + budget
        last = None
        while time.monotonic() < deadline:
            if container.proc.poll() is not None:
                return Outcome(detail=f"exited with {container.proc.returncode} before {what} passed:\n{container.log_tail()}")
            last = probe()
            if last.returncode == 0:
                return Outcome(healthy=True, detail=what)
            time.sleep(0.5)
        output = (last.stdout + last.stderr)[-2000:] if last else ""
        return Outcome(detail=f"{what} failed for {budget:.0f}s: {output}\n{container.log_tail()}")

    def _start_backup_target(self) -> None:
        """moto's S3 behind nginx for TLS (tests/backup/target.py) on port 443 of `backup-target`, as the stack's
        target; the bucket exists as the operator's provider made it."""
        from tests.app.services import BIN
        from tests.backup.target import NGINX_CONF

        _, cert, key = self.target_tls
        state = self.net.state / BACKUP_TARGET
        conf = self.certificates / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=self.certificates, listen="0.0.0.0", port=443, upstream=9000, cert=cert, key=key))
        script = f"{BIN / 'moto_server'} -H 127.0.0.1 -p 9000 & exec {shutil.which('nginx') or '/usr/sbin/nginx'} -c {conf}"
        proc = self.net.start_plain(BACKUP_TARGET, ["sh", "-c", script])
        # The harness reaches it by address, which the certificate (for `backup-target`) does not name: its own
        # set-up requests skip verification; the services verify it against the stack's CA.
        url = f"https://{self.net.addresses[BACKUP_TARGET]}"
        deadline = time.monotonic() + 30
        while not _answers(url, verify=False):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"backup target did not start: {(state / 'output.log').read_text()}")
            time.sleep(0.2)
        import warnings

        import boto3
        from urllib3.exceptions import InsecureRequestWarning

        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="provider",
                          aws_secret_access_key="provider", verify=False)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            s3.create_bucket(Bucket=BACKUP_BUCKET)

    def _start_s3_peer(self, name: str) -> None:
        from tests.app.services import BIN

        port = self.catalog.services[name].port
        proc = self.net.start_plain(name, [str(BIN / "moto_server"), "-H", "0.0.0.0", "-p", str(port)])
        url = f"http://{self.net.addresses[name]}:{port}"
        deadline = time.monotonic() + 30
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto S3 peer did not start: {(self.net.state / name / 'output.log').read_text()}")
            time.sleep(0.2)
        import boto3

        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="peer", aws_secret_access_key="peer")
        for bucket in S3_PEER_BUCKETS:
            s3.create_bucket(Bucket=bucket)


def _answers(url: str, verify: str | bool = True) -> bool:
    try:
        return httpx.get(url, timeout=1, verify=verify).status_code < 500
    except httpx.HTTPError:
        return False


class _Probe:
    def __init__(self, returncode: int, text: str = ""):
        self.returncode, self.stdout, self.stderr = returncode, text, ""


def _http_probe(url: str) -> _Probe:
    try:
        response = httpx.get(url, timeout=3)
    except httpx.HTTPError as exc:
        return _Probe(1, repr(exc))
    return _Probe(0 if response.status_code == 200 else 1, f"HTTP {response.status_code}")
