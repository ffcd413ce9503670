"""`.ci/request-loop`, which the e2e job runs against the API while an update replaces its container: it counts
every request that did not answer 200 and fails on any. Run here against a local HTTP server."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "request-loop"
HOST = "api.ci.localhost"


class Backend:
    """A local server that answers 200 until told to answer `status`, and records the Host headers it saw."""

    def __init__(self):
        self.status = 200
        self.hosts: list[str] = []
        self.answered = {200: threading.Event(), 502: threading.Event()}
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status = backend.status
                backend.hosts.append(self.headers["Host"])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                backend.answered.setdefault(status, threading.Event()).set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend():
    b = Backend()
    yield b
    b.close()


def start_loop(port: int, ready: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), f"http://{HOST}/health", "--connect", f"127.0.0.1:{port}", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_ready(loop: subprocess.Popen, ready: Path, backend: Backend) -> None:
    assert backend.answered[200].wait(30)
    while not ready.exists():  # created right after the first 200 the loop read
        assert loop.poll() is None, loop.communicate()
        backend.answered[200].wait(0.05)


def stop(loop: subprocess.Popen) -> tuple[int, str, str]:
    loop.send_signal(signal.SIGTERM)
    out, err = loop.communicate(timeout=60)
    return loop.returncode, out, err


def test_it_passes_when_every_request_answers_200(backend, tmp_path):
    loop = start_loop(backend.port, tmp_path / "ready")
    wait_until_ready(loop, tmp_path / "ready", backend)
    code, out, err = stop(loop)
    assert code == 0, err
    sent = int(out.split()[0])
    assert sent >= 1 and out.strip().endswith(", 0 failed") and err == ""


def test_it_sends_the_urls_host_to_the_address_it_connects_to(backend, tmp_path):
    loop = start_loop(backend.port, tmp_path / "ready")
    wait_until_ready(loop, tmp_path / "ready", backend)
    stop(loop)
    assert backend.hosts and set(backend.hosts) == {HOST}


def test_a_bad_gateway_answer_fails_it(backend, tmp_path):
    loop = start_loop(backend.port, tmp_path / "ready")
    wait_until_ready(loop, tmp_path / "ready", backend)
    backend.status = 502
    line = loop.stderr.readline()  # the loop's report of the failed request
    code, out, _ = stop(loop)
    assert "failed: HTTP 502" in line
    assert code == 1 and not out.strip().endswith(", 0 failed")


def test_a_backend_that_went_away_fails_it(backend, tmp_path):
    loop = start_loop(backend.port, tmp_path / "ready")
    wait_until_ready(loop, tmp_path / "ready", backend)
    backend.close()
    line = loop.stderr.readline()
    code, _, _ = stop(loop)
    # refused, or reset if the server closed a connection it had accepted
    assert ("ConnectionRefusedError" in line or "ConnectionResetError" in line) and code == 1


def test_a_malformed_connect_address_is_refused(tmp_path):
    loop = subprocess.run(
        [sys.executable, str(SCRIPT), f"http://{HOST}/health", "--connect", "nohostport", "--ready-file", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert loop.returncode == 2 and "--connect: expected HOST:PORT" in loop.stderr
