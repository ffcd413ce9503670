"""The exporters the catalog deploys, run as processes (Debian's builds) with the catalog's
own configuration, against a real PostgreSQL and a real TLS server."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from infra.assembly import offline_catalog
from infra.configs.observability import certificate_module

from tests.scripts import run_volume_usage_once

from .flow import scrape
from .services import free_port, port_open, run_postgres_bootstrap, wait_for

EXPORTERS = {
    name: shutil.which(f"prometheus-{name}-exporter") for name in ("blackbox", "postgres", "node")
}  # fmt: skip


def exporter(name: str) -> str:
    if EXPORTERS[name] is None:
        pytest.skip(f"prometheus-{name}-exporter missing: .ci/run installs it (apt)")
    return EXPORTERS[name]


@pytest.fixture(scope="module")
def catalog():
    return offline_catalog("staging")[1]


@pytest.fixture
def run_exporter(tmp_path):
    procs = []

    def start(cmd: list[str], port: int, env: dict | None = None) -> str:
        log = open(tmp_path / f"{Path(cmd[0]).name}.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        procs.append(proc)
        wait_for(lambda: port_open(port), cmd[0], 30, proc)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


# -- certificates: blackbox exporter --------------------------------------------------------
class TlsServer:
    """Completes TLS handshakes with one certificate and records the SNI names clients send."""

    def __init__(self, tmp_path: Path, not_after: dt.datetime):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "proxy.test")])
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_after - dt.timedelta(days=90)).not_valid_after(not_after)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "key.pem").write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        self.sni: list[str] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        context.sni_callback = lambda sock, server_name, ctx: self.sni.append(server_name)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.context = context
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass


def test_blackbox_config_passes_its_own_check(catalog, tmp_path):
    config = tmp_path / "blackbox.yml"
    config.write_text(next(f.content for f in catalog.services["blackbox"].files))
    result = subprocess.run([exporter("blackbox"), "--config.check", f"--config.file={config}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_blackbox_reports_the_expiry_of_the_certificate_served_for_a_host(catalog, tmp_path, run_exporter):
    not_after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=10)
    server = TlsServer(tmp_path, not_after)
    config = tmp_path / "blackbox.yml"
    config.write_text(next(f.content for f in catalog.services["blackbox"].files))
    port = free_port()
    url = run_exporter([exporter("blackbox"), f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"], port)
    module = certificate_module("api")
    found = scrape(f"{url}/probe?module={module}&target=127.0.0.1:{server.port}")
    assert found["probe_success"] == 1
    assert found["probe_ssl_earliest_cert_expiry"] == not_after.timestamp()
    assert server.sni == ["api.staging.mlops.dns64.de"]  # SNI picks the host's certificate at the proxy
    server.sock.close()


# -- PostgreSQL exporter -------------------------------------------------------------------
def test_postgres_exporter_reads_statistics_as_the_monitoring_role(stack, catalog, tmp_path, run_exporter):
    url = urlparse(stack.pg)
    passwords = {"MLFLOW_DB_PASSWORD": "x", "PIPELINE_DB_PASSWORD": "x", "MONITORING_DB_PASSWORD": "monitor-pw"}
    boot = run_postgres_bootstrap(stack.pg, passwords)
    assert boot.returncode == 0, boot.stderr
    spec = catalog.services["postgres-exporter"]
    password_file = tmp_path / "password"
    password_file.write_text("monitor-pw")
    exporter_env = {
        **spec.env,
        "DATA_SOURCE_URI": spec.env["DATA_SOURCE_URI"].replace("postgres:5432", f"127.0.0.1:{url.port}"),
        "DATA_SOURCE_PASS_FILE": str(password_file),
    }
    port = free_port()
    base = run_exporter([exporter("postgres"), f"--web.listen-address=127.0.0.1:{port}"], port, exporter_env)
    found = scrape(f"{base}/metrics")
    assert found["pg_up"] == 1
    assert any(k.startswith("pg_database_size_bytes{") and 'datname="pipeline"' in k for k in found)


# -- node exporter and the volume-usage figures -------------------------------------------
def test_node_exporter_accepts_the_catalog_flags_and_serves_volume_figures(catalog, tmp_path, run_exporter):
    usage = catalog.services["volume-usage"]
    textfile = run_volume_usage_once(usage.command, usage.env, tmp_path, {"postgres": 50_000})

    flags = [re.sub(r"=/host(/\w+)?$", lambda m: "=" + (m.group(1) or "/"), f) for f in catalog.services["node-exporter"].command]
    flags = [f"--collector.textfile.directory={textfile}" if f.startswith("--collector.textfile") else f for f in flags]
    port = free_port()
    base = run_exporter([exporter("node"), *flags, f"--web.listen-address=127.0.0.1:{port}"], port)
    found = scrape(f"{base}/metrics")
    assert found['mlops_volume_used_bytes{volume="postgres"}'] >= 50_000
    assert found['node_textfile_scrape_error'] == 0
