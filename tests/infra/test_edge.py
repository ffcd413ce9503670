"""The edge's nginx files (security headers, rate limits, body limits), rendered from the catalog
and loaded by a real nginx (Debian's) the way nginx-proxy 1.11.6 includes them.

nginx-proxy 1.11.6 (nginx-proxy/nginx-proxy@13d5163c): the image's nginx.conf includes
`/etc/nginx/conf.d/*.conf` in the http block, where docker-gen writes `default.conf` (docs/README.md,
"Proxy-wide"); nginx.tmpl puts `include /etc/nginx/vhost.d/<host>;` in each host's server block
after its own `add_header Strict-Transport-Security $sts_header always;` (HSTS, default
`max-age=31536000`, on HTTPS only), and `auth_basic` with `/etc/nginx/htpasswd/<host>` in its
`location /`, which has no `add_header` or `limit_req` of its own (so it inherits ours).
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from infra.services.edge.proxy import SECURITY_HEADERS, stack_conf_path

from .harness import run_stack

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx is not installed")


def proxy_files(run) -> dict[str, str]:
    return run.output("proxyFiles")


def vhosts(run) -> dict[str, str]:
    return {Path(p).name: c for p, c in proxy_files(run).items() if p.startswith("/etc/nginx/vhost.d/")}


def stack_conf(run) -> str:
    return proxy_files(run)[stack_conf_path(run.stack)]


def public_hosts(run) -> dict[str, str]:
    return {svc: url.split("/")[2] for svc, url in run.output("urls").items() if svc != "api_docs"}


# ---------- what the files say


def test_every_public_host_is_rate_limited_in_a_zone_of_its_own(run):
    zones = dict(re.findall(r"limit_req_zone \$binary_remote_addr zone=(\w+):\d+m rate=(\d+r/s);", stack_conf(run)))
    used = []
    for host, text in vhosts(run).items():
        match = re.search(r"^limit_req zone=(\w+) burst=(\d+) nodelay;$", text, re.M)
        assert match, host
        assert match.group(1) in zones, host
        assert "limit_req_status 429;" in text, host
        used.append(match.group(1))
    assert set(used) == set(zones) and len(used) == len(set(used)) == len(public_hosts(run))


def test_the_console_logins_of_rabbitmq_and_minio_stay_public_but_rate_limited(runs):
    run = runs["production"]
    hosts = public_hosts(run)
    for svc in ("rabbitmq", "minio"):
        assert f"/etc/nginx/htpasswd/{hosts[svc]}" not in proxy_files(run), svc  # their own login
        assert "limit_req zone=" in vhosts(run)[hosts[svc]], svc


def test_security_headers_are_set_only_where_the_app_sets_none(run):
    conf = stack_conf(run)
    for header, value in SECURITY_HEADERS.items():
        upstream = "$upstream_http_" + header.lower().replace("-", "_")
        var = re.search(rf'map {re.escape(upstream)} \$(\w+) {{ "" "{re.escape(value)}"; default ""; }}', conf)
        assert var, header
        for host, text in vhosts(run).items():
            assert f"add_header {header} ${var.group(1)} always;" in text, (host, header)


def test_hsts_is_left_to_nginx_proxy_and_not_repeated(runs):
    for run in runs.values():
        assert all("Strict-Transport-Security" not in c for c in proxy_files(run).values())
    env = dict(e.split("=", 1) for e in runs["production"].container("docker-gen").inputs["envs"])
    assert env["HSTS"] == "max-age=31536000"  # the template, which docker-gen renders, reads it


def test_request_size_limits_stay(runs):
    hosts = public_hosts(runs["staging"])
    limits = {svc: re.search(r"client_max_body_size (\S+);", vhosts(runs["staging"])[h]).group(1) for svc, h in hosts.items()}
    assert limits == {"rabbitmq": "1m", "minio": "5g", "mlflow": "2g", "grafana": "1m", "api": "2g", "ui": "200m"}


def test_only_the_apis_host_streams_request_bodies_to_the_app(runs):
    """The API reads uploads as they arrive; every other host keeps nginx's default (the whole body
    first, on the proxy's disk)."""
    for run in runs.values():
        streaming = {svc for svc, host in public_hosts(run).items() if "proxy_request_buffering" in vhosts(run)[host]}
        assert streaming == {"api"}, run.stack
        assert "\nproxy_request_buffering off;\n" in vhosts(run)[public_hosts(run)["api"]]


def test_the_api_and_its_proxy_take_the_same_upload_limit_from_one_setting():
    from .harness import run_stack, stack_file_config
    from .test_stacks import env_of

    run = run_stack("staging", {**stack_file_config("staging"), "data": {"maxUpload": "3g"}})
    host = public_hosts(run)["api"]
    assert re.search(r"client_max_body_size (\S+);", vhosts(run)[host]).group(1) == "3g"
    assert env_of(run.container("api"))["MAX_UPLOAD_BYTES"] == str(3 * 1024**3)


def test_the_own_proxy_and_a_shared_proxy_get_the_http_level_file_too(runs):
    run = runs["staging"]
    # docker-gen's upload lands in conf.d, the volume it shares with nginx (read-only in nginx).
    uploads = {u["file"]: u["content"] for u in run.container("docker-gen").inputs["uploads"]}
    assert uploads[stack_conf_path("staging")] == stack_conf(run)
    assert stack_conf_path("staging") not in {u["file"] for u in run.container("proxy").inputs["uploads"]}
    external = run_stack("staging", {"acmeEmail": "ops@iot64.de", "externalProxyNetwork": "shared-proxy"})
    assert stack_conf_path("staging") in proxy_files(external)


# ---------- a real nginx


def write_tree(root: Path, files: dict[str, str]) -> None:
    for path, content in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def template_server(root: Path, host: str, listen: str, backend: str) -> str:
    """One host's server block as nginx.tmpl at 1.11.6 renders it (plain HTTP here)."""
    auth = ""
    if (root / "etc/nginx/htpasswd" / host).exists():
        auth = f'        auth_basic "Restricted {host}";\n        auth_basic_user_file {root}/etc/nginx/htpasswd/{host};\n'
    return f"""
server {{
    server_name {host};
    listen {listen};
    set $sts_header "";
    if ($https) {{
        set $sts_header "max-age=31536000";
    }}
    add_header Strict-Transport-Security $sts_header always;
    include {root}/etc/nginx/vhost.d/{host};
    location / {{
        proxy_pass http://{backend};
{auth}    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_tree(root: Path, runs_files: list[dict[str, str]], port: int, backend_port: int, backends: dict[str, int] | None = None) -> Path:
    """nginx.conf like the nginx-proxy image's, conf.d/default.conf like docker-gen's, plus the stacks'
    files; `backends` sends a host to a port of its own instead of nginx's canned backend."""
    hosts = []
    for files in runs_files:
        write_tree(root, files)
        hosts += [Path(p).name for p in files if p.startswith("/etc/nginx/vhost.d/")]
    backends = backends or {}
    servers = "".join(template_server(root, h, f"127.0.0.1:{port}", f"127.0.0.1:{backends.get(h, backend_port)}") for h in hosts)
    backend = f"""
server {{
    listen 127.0.0.1:{backend_port};
    location / {{ return 200 "ok\\n"; }}
    location = /framed {{ add_header X-Frame-Options DENY; return 200 "framed\\n"; }}
}}
"""
    (root / "etc/nginx/conf.d/default.conf").write_text(servers + backend)
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's htpasswd files
    conf = root / "etc/nginx/nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    proxy_http_version 1.1;
    include {root}/etc/nginx/conf.d/*.conf;
}}
""")
    return conf


def nginx_t(conf: Path) -> subprocess.CompletedProcess:
    root = conf.parents[2]
    return subprocess.run([NGINX, "-t", "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")], capture_output=True, text=True)


@needs_nginx
def test_each_stacks_files_pass_nginx_t(run, tmp_path):
    result = nginx_t(nginx_tree(tmp_path, [proxy_files(run)], free_port(), free_port()))
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_two_stacks_on_one_shared_proxy_pass_nginx_t_together(runs, tmp_path):
    result = nginx_t(nginx_tree(tmp_path, [proxy_files(runs["staging"]), proxy_files(runs["production"])], free_port(), free_port()))
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def nginx(runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    port = free_port()
    with running_nginx(nginx_tree(root, [proxy_files(runs["staging"])], port, free_port()), port):
        yield port


@contextlib.contextmanager
def running_nginx(conf: Path, port: int):
    root = conf.parents[2]
    proc = subprocess.Popen(
        [NGINX, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (root / "error.log").read_text()
            time.sleep(0.05)  # start-up only: waiting for the port, not timing the test
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def get(port: int, host: str, path: str = "/") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@needs_nginx
@pytest.mark.parametrize("svc,status", [("ui", 401), ("api", 200)])
def test_a_burst_beyond_the_limit_gets_429(nginx, runs, svc, status):
    """Sequential requests, each after the previous response: the first burst+1 always pass (the
    bucket only drains meanwhile), and a 429 follows before the drained tokens run out."""
    from infra.catalog.model import RateLimit

    from infra.assembly import offline_catalog

    host = public_hosts(runs["staging"])[svc]
    limit: RateLimit = offline_catalog("staging")[1].services[svc].public.rate_limit
    statuses, start = [], time.monotonic()
    while 429 not in statuses and len(statuses) < 10 * (limit.burst + 1):
        response = get(nginx, host)
        statuses.append(response.status)
    elapsed = time.monotonic() - start
    passed = statuses.index(429)
    assert set(statuses[:passed]) == {status}  # basic auth still asks first: a 401, not the app
    assert limit.burst + 1 <= passed <= limit.burst + 1 + math.ceil(limit.per_second * elapsed)
    assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"]  # on the 429 too


@needs_nginx
def test_rejected_and_proxied_responses_carry_one_of_each_security_header(nginx, runs):
    host = public_hosts(runs["staging"])["grafana"]
    plain = get(nginx, host, "/")
    for header, value in SECURITY_HEADERS.items():
        assert plain.headers.get_all(header) == [value], header
    framed = get(nginx, host, "/framed")  # the app sets its own X-Frame-Options (Grafana does)
    assert framed.headers.get_all("X-Frame-Options") == ["DENY"]
    assert framed.headers.get_all("X-Content-Type-Options") == ["nosniff"]


@pytest.fixture(scope="module")
def streaming_api(tmp_path_factory):
    """A real nginx with a stack's files whose upload limit is 1m, the API's host sent to a socket
    of the test's own (the app's side of the proxied connection)."""
    from .harness import stack_file_config

    run = run_stack("staging", {**stack_file_config("staging"), "data": {"maxUpload": "1m"}})
    host = public_hosts(run)["api"]
    app = socket.create_server(("127.0.0.1", 0))
    app.settimeout(20)
    port = free_port()
    conf = nginx_tree(tmp_path_factory.mktemp("streaming"), [proxy_files(run)], port, free_port(), {host: app.getsockname()[1]})
    with app, running_nginx(conf, port):
        yield port, host, app


def request_head(host: str, **headers: str) -> bytes:
    lines = [f"POST /api/v1/datasets HTTP/1.1", f"Host: {host}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def received_body(conn: socket.socket, at_least: int) -> bytes:
    """What the app's side has read of the body once `at_least` bytes of it arrived."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < at_least:
        chunk = conn.recv(65536)
        assert chunk, data[:300]
        data += chunk
    return data.split(b"\r\n\r\n", 1)[1]


@needs_nginx
def test_the_apis_host_passes_a_body_on_before_the_client_has_sent_all_of_it(streaming_api):
    port, host, app = streaming_api
    part = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port), 10) as client:
        client.sendall(request_head(host, Content_Length=str(900 * 1024)) + part)  # and nothing more yet
        conn, _ = app.accept()  # with nginx's default buffering, nobody connects before the whole body is in
        with conn:
            conn.settimeout(20)
            assert received_body(conn, len(part)) == part


@needs_nginx
def test_the_apis_host_still_refuses_a_streamed_chunked_body_past_its_limit(streaming_api):
    """nginx counts a chunked body as it reads it, with buffering off too: past 1m, a 413."""
    port, host, app = streaming_api
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    with socket.create_connection(("127.0.0.1", port), 10) as client:
        client.sendall(request_head(host, Transfer_Encoding="chunked") + chunk)
        conn, _ = app.accept()
        with conn:
            conn.settimeout(20)
            received_body(conn, 1)  # the app has the body's start: it is streamed
            threading.Thread(target=lambda: all(iter(lambda: conn.recv(65536), b"")), daemon=True).start()
            answer = b""
            for _ in range(16):  # 1 MiB more than the limit, at most
                try:
                    client.sendall(chunk)
                except OSError:  # nginx closed the request after answering
                    break
            client.settimeout(20)
            while b"\r\n" not in answer:
                got = client.recv(4096)
                assert got, answer
                answer += got
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_hardening_doc_states_the_catalogs_rate_limits():
    from infra.assembly import offline_catalog

    doc = (Path(__file__).resolve().parents[2] / "docs" / "hardening.md").read_text()
    section = " ".join(doc[doc.index("- *Rate limit*") :].split("- *Security headers*")[0].split())
    said = {"API": "api", "UI": "ui", "MLflow": "mlflow", "Grafana": "grafana", "the MinIO console": "minio", "RabbitMQ management": "rabbitmq"}
    stated = {}
    for names, rate, burst in re.findall(r"(?:(?<=: )|(?<=\), ))([A-Za-z ,]+?) (\d+)/s \(burst (\d+)\)", section):
        for name in re.split(r", | and ", names):
            stated[said[name]] = (int(rate), int(burst))
    catalog = offline_catalog("production")[1]
    limits = {n: (s.public.rate_limit.per_second, s.public.rate_limit.burst) for n, s in catalog.public().items()}
    assert stated == limits
