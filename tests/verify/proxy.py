"""A real TLS-terminating nginx in front of the local services, routing by Host header
(as nginx-proxy does in a stack), with per-host certificates and htpasswd files."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.app.services import free_port, port_open, wait_for


@dataclass(frozen=True)
class Route:
    host: str
    backend: str  # host:port of the local service
    cert: tuple[Path, Path]
    htpasswd: Path | None = None  # basic auth, as the stack's /etc/nginx/htpasswd/<host>


def htpasswd_line(user: str, password: str) -> str:
    """A salted SHA-1 (`{SSHA}`) line: nginx's auth_basic_user_file reads it like the stack's
    bcrypt lines (nginx docs, ngx_http_auth_basic_module), without an htpasswd tool."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n"


def nginx_bin() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise FileNotFoundError("nginx not found: install Debian's nginx (apt-get install nginx)")
    return found


def _server(route: Route, port: int) -> str:
    auth = f'    auth_basic "mlops";\n    auth_basic_user_file {route.htpasswd};\n' if route.htpasswd else ""
    return f"""
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name {route.host};
    ssl_certificate {route.cert[0]};
    ssl_certificate_key {route.cert[1]};
{auth}    location / {{
      proxy_pass http://{route.backend};
      proxy_http_version 1.1;
    }}
  }}"""


class Nginx:
    def __init__(self, root: Path, routes: list[Route]):
        self.root = root
        self.port = free_port()
        tmp = root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's htpasswd files
        conf = f"""{user}daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 128; }}
http {{
  access_log {root}/access.log;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  client_max_body_size 10m;
{''.join(_server(r, self.port) for r in routes)}
}}
"""
        (root / "nginx.conf").write_text(conf)
        log = open(root / "nginx.out", "ab")
        self.proc = subprocess.Popen(
            [nginx_bin(), "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: port_open(self.port), "nginx", 20, self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
