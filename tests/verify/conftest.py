"""A local 'stack' for verify: the real API, processor, MLflow, PostgreSQL, RabbitMQ (with
its management plugin, as the stack's `-management` image), moto S3 and the Streamlit UI,
behind a real nginx terminating TLS with test certificates and basic auth; Grafana and the
MinIO console are HTTP fakes (tests/verify/fakes.py)."""

from __future__ import annotations

import io
import json
import secrets
import sys
from contextlib import redirect_stdout

import httpx
import pytest

from infra.assembly import offline_catalog
from infra.configs.observability import replica_aliases, scrape_jobs
from infra.verify.__main__ import main as verify_main
from tests.app.services import (
    BIN, PYTHONPATH, REPO, S3_ENV, Stack, free_port, port_open, rabbitmq_env, start_postgres, start_s3, wait_for,
)  # fmt: skip

from .certs import CA
from .fakes import FakeGrafana, FakeMinioConsole
from .proxy import Nginx, Route, htpasswd_line

STACK = "staging"
HOSTS = {
    "api": "api.verify.test",
    "mlflow": "mlflow.verify.test",
    "ui": "app.verify.test",
    "grafana": "monitoring.verify.test",
    "rabbitmq": "rabbitmq.verify.test",
    "minio": "s3.verify.test",
}
BASIC_AUTH = ("mlflow", "ui")  # at the proxy, as the catalog's PublicRoute(basic_auth=True)


def start_rabbitmq_management(procs, password: str) -> tuple[str, int]:
    """RabbitMQ with the management plugin and an `admin` user, like the stack's broker."""
    base = procs.root / "rabbitmq"
    base.mkdir()  # this test broker's own state; the catalog's broker runs in tests/catalog_runs
    (base / "enabled_plugins").write_text("[rabbitmq_management].\n")
    port, mgmt = free_port(), free_port()
    (base / "rabbitmq.conf").write_text(
        f"default_user = admin\ndefault_pass = {password}\nloopback_users = none\n"
        f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {mgmt}\n"
    )
    env = rabbitmq_env(base, port, f"verify{port}@localhost")
    proc = procs.start("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env)
    wait_for(lambda: port_open(port) and port_open(mgmt), "RabbitMQ with management", 90, proc)
    return f"amqp://admin:{password}@127.0.0.1:{port}//", mgmt


def start_mlflow_one_process(procs, pg_url: str, s3_url: str) -> str:
    """MLflow as tests/app/services.py starts it, but in one process: with two, uvicorn's
    supervisor kept killing workers that imported slowly on a machine shared by many suites,
    and MLflow did not come up within 300 s (seen while developing these tests)."""
    port = free_port()
    proc = procs.start(
        "mlflow",
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"{pg_url}/mlflow", "--artifacts-destination", "s3://mlflow-artifacts"],
        env={**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": s3_url},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(url + "/health", timeout=2).status_code == 200, "MLflow", 300, proc)
    return url


class VerifyStack(Stack):
    def __init__(self):
        super().__init__()
        self.passwords = {name: secrets.token_hex(12) for name in ("grafana", "rabbitmq", "minio", "mlflow", "ui")}

    def start(self) -> "VerifyStack":
        self.pg = start_postgres(self.procs)
        self.amqp, self.rabbitmq_mgmt = start_rabbitmq_management(self.procs, self.passwords["rabbitmq"])
        self.s3 = start_s3(self.procs)
        self.mlflow = start_mlflow_one_process(self.procs, self.pg, self.s3)
        return self

    def start_ui(self, api_url: str) -> int:
        port = free_port()
        env = {"API_URL": api_url, "API_TOKEN": self.api_token, "PYTHONPATH": PYTHONPATH}
        proc = self.procs.start(
            "ui",
            [str(BIN / "streamlit"), "run", "pipeline_ui/app.py", "--server.address=127.0.0.1", f"--server.port={port}",
             "--server.headless=true"],  # the image's CMD (app/ui/Dockerfile), on a loopback port
            env=env, cwd=str(REPO / "app" / "ui"),
        )  # fmt: skip
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status_code == 200, "Streamlit", 90, proc)
        return port

    def credentials(self) -> dict:
        c = {name: {"user": "mlops" if name in BASIC_AUTH else "admin", "password": pw} for name, pw in self.passwords.items()}
        return {**c, "api": {"token": self.api_token}}


def telemetry_env(grafana: FakeGrafana, service: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grafana.port}",
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


@pytest.fixture(scope="session")
def catalog():
    return offline_catalog(STACK)


@pytest.fixture(scope="session")
def vstack():
    s = VerifyStack()
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def grafana(vstack, catalog):
    _, cat = catalog
    g = FakeGrafana("admin", vstack.passwords["grafana"], sorted(cat.services), scrape_jobs(cat.services.values()))
    yield g
    g.stop()


@pytest.fixture(autouse=True)
def _healthy_grafana(request):
    yield
    if "grafana" in request.fixturenames:
        request.getfixturevalue("grafana").reset()


@pytest.fixture(scope="session")
def minio_console(vstack):
    m = FakeMinioConsole("admin", vstack.passwords["minio"])
    yield m
    m.stop()


@pytest.fixture(scope="session")
def api_url(vstack, grafana):
    return vstack.start_api(**telemetry_env(grafana, "api"))


@pytest.fixture(scope="session")
def worker(vstack, grafana):
    return vstack.start_worker("verify-worker", **telemetry_env(grafana, "processor"))


@pytest.fixture(scope="session")
def ui_port(vstack, api_url):
    return vstack.start_ui(api_url)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = CA.create(d, "Verify Test Root", "Verify Test CA")
    staging = CA.create(d, "(STAGING) Verify Fake Root", "(STAGING) Verify Test CA")
    names = list(HOSTS.values())
    return {
        "ca": ca.pem_path,
        "staging_ca": staging.pem_path,
        "good": ca.issue(d, "good", names),
        "staging": staging.issue(d, "staging", names),
        "expired": ca.issue(d, "expired", names, expired=True),
        "wrong-host": ca.issue(d, "wrong-host", ["elsewhere.verify.test"]),
    }


@pytest.fixture
def site(vstack, api_url, worker, ui_port, grafana, minio_console, pki, tmp_path):
    """site(certs={service: kind}, no_auth=(service,), backends={service: "host:port"}) -> the proxy's port."""
    started = []

    def start(cert: str = "good", certs: dict | None = None, no_auth=(), backends: dict | None = None) -> int:
        default = {
            "api": api_url.removeprefix("http://"),
            "mlflow": vstack.mlflow.removeprefix("http://"),
            "ui": f"127.0.0.1:{ui_port}",
            "grafana": f"127.0.0.1:{grafana.port}",
            "rabbitmq": f"127.0.0.1:{vstack.rabbitmq_mgmt}",
            "minio": f"127.0.0.1:{minio_console.port}",
        }
        default.update(backends or {})
        creds = vstack.credentials()
        routes = []
        for service, host in HOSTS.items():
            htpasswd = None
            if service in BASIC_AUTH and service not in no_auth:
                htpasswd = tmp_path / f"htpasswd-{host}"
                htpasswd.write_text(htpasswd_line(creds[service]["user"], creds[service]["password"]))
            routes.append(Route(host, default[service], pki[(certs or {}).get(service, cert)], htpasswd))
        nginx = Nginx(tmp_path / f"nginx-{len(started)}", routes)
        started.append(nginx)
        return nginx.port

    yield start
    for n in started:
        n.stop()


def outputs_doc(vstack, catalog, acme_staging: bool = False, credentials: dict | None = None) -> dict:
    settings, cat = catalog
    urls = {service: f"https://{host}/" for service, host in HOSTS.items()}
    urls["api_docs"] = urls["api"] + "docs"
    return {
        "urls": urls,
        "credentials": credentials or vstack.credentials(),
        "networks": {"edge": settings.docker_name("edge"), "backend": settings.docker_name("backend")},
        "images": {},
        "containers": {n: [settings.docker_name(a) for a in replica_aliases(s)] for n, s in sorted(cat.services.items())},
        "tls": {"enabled": True, "acmeStaging": acme_staging},
    }


@pytest.fixture
def verify(vstack, catalog, pki, tmp_path):
    """verify(port, *args, acme_staging=False, credentials=None, only=...) -> (exit code, report dict)."""

    def run(port: int, *args: str, acme_staging: bool = False, credentials: dict | None = None) -> tuple[int, dict]:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs_doc(vstack, catalog, acme_staging, credentials)))
        argv = ["--stack", STACK, "--outputs", str(path), "--json", "--timeout", "0", "--job-timeout", "600",
                "--ca-file", str(pki["ca"]), "--staging-ca-file", str(pki["staging_ca"]),
                "--connect-to", f"::127.0.0.1:{port}", *args]  # fmt: skip
        out = io.StringIO()
        with redirect_stdout(out):
            code = verify_main(argv)
        report = json.loads(out.getvalue())
        print(json.dumps(report, indent=2), file=sys.stderr)  # shown when a test fails
        return code, report

    return run


def failed(report: dict) -> dict[str, str]:
    return {c["check"]: c["detail"] for c in report["checks"] if c["result"] == "FAIL"}


def results(report: dict) -> dict[str, str]:
    return {c["check"]: c["result"] for c in report["checks"]}
