"""The sandbox itself: a container's root holds what the image holds, wherever this checkout and
its virtualenvs live (each container's private /tmp must not hide a checkout under /tmp)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .images import REPO, dockerfile_run
from .sandbox import Network, available

pytestmark = pytest.mark.skipif(available() is not None, reason=f"namespaces: {available()}")


@pytest.fixture
def network():
    net = Network(["box"])
    yield net
    net.close()


def run_once(net: Network, run, argv: list[str], **kw) -> tuple[int, str]:
    """Start one container from `run` (an ImageRun), wait for its process, return (code, output)."""
    container = net.start(
        "box", argv, env=run.env, user=kw.get("user", run.user), exec_user=run.user, workdir=run.workdir,
        hostname="box", binds={p: (h, True) for p, h in run.binds.items()} | kw.get("binds", {}),
        files=kw.get("files", {}), passwd=run.passwd,
    )  # fmt: skip
    code = container.proc.wait(timeout=60)
    return code, container.log.read_text(errors="replace")


def test_a_virtualenv_under_tmp_stays_visible_in_the_container(network):
    """A clean clone under /tmp has its venv there; the container's private /tmp must not hide it."""
    with tempfile.TemporaryDirectory(prefix="checkout-", dir="/tmp") as checkout:
        venv = Path(checkout) / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        run = dockerfile_run(REPO / "app/api/Dockerfile", str(venv / "bin"))
        code, out = run_once(network, run, ["python", "-c", "import sys; print(sys.prefix)"])
    assert code == 0, out
    assert out.strip().splitlines()[-1] == str(venv)
