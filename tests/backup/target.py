"""A backup target outside the platform: a second S3 server, reached over HTTPS with a
certificate from a throw-away CA (pgBackRest speaks only HTTPS to S3)."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
from pathlib import Path

import boto3
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.configs.backup import S3Target
from tests.app.services import BIN, Processes, free_port, wait_for

BUCKET = "platform-backups"
ACCESS_KEY = "backup"
SECRET_KEY = "backup-secret-key"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write_certificates(directory: Path, host: str = "localhost", address: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for `host` and `address` (pgBackRest 2.45 matches DNS
    names only; the address is for clients here that reach the server by it)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("backup test CA"))
        .issuer_name(_name("backup test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address)), x509.DNSName(host)]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    for p in paths:
        p.chmod(0o644)
    return paths


NGINX_CONF = """
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  server {{
    listen {listen}:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    client_max_body_size 0;
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_http_version 1.1;
    }}
  }}
}}
"""


def start_backup_target(procs: Processes) -> S3Target:
    """moto's S3 server behind nginx for TLS (moto's own TLS ends connections without a TLS
    close, which pgBackRest rightly treats as an error)."""
    directory = procs.root / "backup-target"
    directory.mkdir()
    ca, cert, key = write_certificates(directory)
    upstream, port = free_port(), free_port()
    moto = procs.start("backup-target", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(upstream)])
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=directory, listen="127.0.0.1", port=port, upstream=upstream, cert=cert, key=key))
    nginx = procs.start("backup-target-tls", [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-e", str(directory / "nginx-error.log")])
    url = f"https://localhost:{port}"
    wait_for(lambda: httpx.get(f"http://127.0.0.1:{upstream}/", timeout=1).status_code < 500, "backup target", 30, moto)
    wait_for(lambda: httpx.get(url + "/", timeout=1, verify=str(ca)).status_code < 500, "backup target TLS", 30, nginx)
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, verify=str(ca),
    )  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    return S3Target(endpoint=f"localhost:{port}", bucket=BUCKET, ca_file=str(ca))
