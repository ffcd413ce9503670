"""An alert raised by a real Prometheus reaches a webhook receiver through a real Alertmanager
configured from a stack file.

Alertmanager runs with the catalog's rendered alertmanager.yml and the catalog's command, its
container paths mapped under a temporary directory. Prometheus is Debian's 2.x while the image
is v3, so its config is written here from the rendered one's `global` (the `stack` external
label) and `alerting` blocks, the `alertmanager` host mapped to the loopback port, plus one rule
that fires at once. Everything waits on events (readiness endpoints, the receiver's POST), each
with a deadline.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from infra.assembly import offline_catalog
from infra.configs.alerting import RECEIVER
from tests.app.services import free_port
from tests.infra.harness import PROJECT, stack_file_config

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None,
    reason="needs Debian's prometheus and prometheus-alertmanager (.ci/run installs them)",
)

#: Alertmanager's group_wait (30s, rendered) comes before the first notification.
DELIVERY_DEADLINE = 180


class Receiver:
    """A webhook receiver on 127.0.0.1 that hands every POSTed body to a queue."""

    def __init__(self):
        self.bodies: queue.Queue[dict] = queue.Queue()
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                bodies.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_ready(url: str, proc: subprocess.Popen, log: Path, deadline: float = 120) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} not ready after {deadline}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def start(processes, args: list[str], log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT)
    processes.append(proc)
    return proc


def catalog_files(spec, root: Path) -> dict[str, Path]:
    """Write a service's files under `root`, as the container receives them; container path -> file."""
    written = {}
    for f in spec.files:
        target = root / f.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)  # Docker's upload creates missing parents too
        target.write_text(f.content)
        written[f.path] = target
    return written


def test_firing_alert_reaches_the_stacks_webhook_receiver_with_its_labels(tmp_path, processes):
    receiver = Receiver()
    try:
        prefix = f"{PROJECT}:"
        config = {k[len(prefix) :]: v for k, v in stack_file_config("staging").items() if k.startswith(prefix)}
        config["alerting"] = {"webhooks": [receiver.url]}
        _, catalog = offline_catalog("staging", config)

        # Alertmanager: the catalog's command and files, container paths under tmp_path.
        am = catalog.services["alertmanager"]
        am_root = tmp_path / "alertmanager"
        files = catalog_files(am, am_root)
        (am_root / "alertmanager").mkdir()  # the image's /alertmanager (image facts), its --storage.path
        am_port = free_port()
        mapped = {"/etc/alertmanager/alertmanager.yml": str(files["/etc/alertmanager/alertmanager.yml"]),
                  "/alertmanager": str(am_root / "alertmanager")}  # fmt: skip
        command = [a.split("=", 1)[0] + "=" + mapped.get(a.split("=", 1)[1], a.split("=", 1)[1]) for a in am.command]
        am_log = tmp_path / "alertmanager.log"
        am_proc = start(processes, [ALERTMANAGER, *command, f"--web.listen-address=127.0.0.1:{am_port}"], am_log)
        wait_ready(f"http://127.0.0.1:{am_port}/-/ready", am_proc, am_log)

        # Prometheus 2.x: the rendered global and alerting blocks, `alertmanager` mapped to loopback.
        rendered = yaml.safe_load(next(f.content for f in catalog.services["prometheus"].files if f.path.endswith("prometheus.yml")))
        alerting = rendered["alerting"]
        (static,) = alerting["alertmanagers"][0]["static_configs"]
        assert static["targets"] == [f"alertmanager:{am.port}"]
        static["targets"] = [f"127.0.0.1:{am_port}"]
        rules = tmp_path / "rules.yml"
        rules.write_text(yaml.safe_dump({"groups": [{"name": "e2e", "interval": "1s", "rules": [
            {"alert": "EndToEndAlwaysFiring", "expr": "vector(1)",
             "labels": {"severity": "warning", "service": "e2e"}, "annotations": {"summary": "fires at once"}},
        ]}]}))  # fmt: skip
        prom_config = tmp_path / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump({"global": rendered["global"], "alerting": alerting, "rule_files": [str(rules)]}))
        prom_port = free_port()
        prom_log = tmp_path / "prometheus.log"
        prom_proc = start(
            processes,
            [PROMETHEUS, f"--config.file={prom_config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}",
             # The first evaluation can precede the notifier learning of Alertmanager (alerts
             # sent to no Alertmanager are dropped); resend after 2s, not the default minute.
             "--rules.alert.resend-delay=2s"],
            prom_log,
        )  # fmt: skip
        wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom_proc, prom_log)

        try:
            body = receiver.bodies.get(timeout=DELIVERY_DEADLINE)
        except queue.Empty:
            pytest.fail(
                f"no notification within {DELIVERY_DEADLINE}s\n--- alertmanager\n{am_log.read_text()[-3000:]}"
                f"\n--- prometheus\n{prom_log.read_text()[-3000:]}"
            )
    finally:
        receiver.close()

    assert body["receiver"] == RECEIVER and body["status"] == "firing"
    assert body["groupLabels"] == {"alertname": "EndToEndAlwaysFiring", "service": "e2e"}
    (alert,) = body["alerts"]
    assert alert["labels"] == {"alertname": "EndToEndAlwaysFiring", "service": "e2e", "severity": "warning", "stack": "staging"}
    assert alert["annotations"] == {"summary": "fires at once"}
