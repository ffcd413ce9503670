"""The sandbox itself: a container's root holds what the image holds, wherever this checkout and
its virtualenvs live (each container's private /tmp must not hide a checkout under /tmp), and no
more: the image's users, its CA store or none, and volumes only their owner may write."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from infra.catalog.image_facts import all_facts

from .images import REPO, ImageRun, dockerfile_run
from .runner import ids
from .sandbox import Network, available

pytestmark = pytest.mark.skipif(available() is not None, reason=f"namespaces: {available()}")
SHELL = ImageRun(entrypoint=(), cmd=(), env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


BOXES = [f"box{i}" for i in range(8)]


@pytest.fixture(scope="module")
def network():
    net = Network(BOXES)  # one network for the module: a namespace (a container name) per run
    yield net
    net.close()


def run_once(net: Network, run: ImageRun, facts_key: str, argv: list[str], user=None, caps=(), binds=None):
    """Start one container of `run` with the root the image's facts give it; wait for it; (exit code, output)."""
    name = next(n for n in BOXES if n not in net.containers)
    facts = all_facts()[facts_key]
    who = ids(facts.resolve_user(user))
    container = net.start(
        name, argv, env=run.env, user=who, exec_user=who, workdir=run.workdir, hostname=name,
        binds={p: (h, True) for p, h in run.binds.items()} | (binds or {}), files={}, users=facts.users,
        ca_store=facts.ca_bundle not in (None, "unread"), caps=caps,
    )  # fmt: skip
    code = container.proc.wait(timeout=60)
    return code, container.log.read_text(errors="replace")


def test_a_virtualenv_under_tmp_stays_visible_in_the_container(network):
    """A clean clone under /tmp has its venv there; the container's private /tmp must not hide it."""
    with tempfile.TemporaryDirectory(prefix="checkout-", dir="/tmp") as checkout:
        venv = Path(checkout) / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        run = dockerfile_run(REPO / "app/api/Dockerfile", str(venv / "bin"))
        code, out = run_once(network, run, "app/api", ["python", "-c", "import sys; print(sys.prefix)"])
    assert code == 0, out
    assert out.strip().splitlines()[-1] == str(venv)


CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def test_an_image_without_a_ca_bundle_shows_no_ca_store(network):
    """The official postgres image purges ca-certificates: nothing a TLS client could verify with."""
    code, out = run_once(network, SHELL, "postgres", ["sh", "-c", f"ls -A /etc/ssl/certs | wc -l; test -e {CA_BUNDLE}"])
    assert code == 1 and out.split()[0] == "0", out


def test_an_image_with_a_ca_bundle_shows_it(network):
    code, out = run_once(network, SHELL, "app/postgres", ["sh", "-c", f"grep -c 'BEGIN CERTIFICATE' {CA_BUNDLE}"])
    assert code == 0 and int(out.split()[0]) > 50, out


def test_the_image_users_stand_in_for_this_machines(network):
    """postgres is 999 in the image (this machine's postgres package user has another uid)."""
    code, out = run_once(network, SHELL, "app/postgres", ["sh", "-c", "id -u; id -un; getent passwd 999 | cut -d: -f1"])
    assert code == 0 and out.split() == ["999", "postgres", "postgres"], out


def test_a_uid_that_does_not_own_a_volume_cannot_write_it(network):
    """The metrics volume as Docker creates it (no image has /textfile): root:root 0755, so 999 cannot write."""
    volume = network.directory("volumes/textfile", 0, 0, 0o755)  # as Docker creates it (VOLUME_FROM_ABSENT_PATH)
    code, out = run_once(network, SHELL, "app/postgres", ["sh", "-c", "touch /textfile/x"], binds={"/textfile": (volume, False)})
    assert code != 0 and "Permission denied" in out, out


def test_root_without_capabilities_cannot_write_what_another_uid_owns(network):
    """Docker drops every capability root has: object-backup (root) cannot write a 999-owned 0755 directory."""
    volume = network.directory("volumes/owned", 999, 999, 0o755)
    binds = {"/owned": (volume, False)}
    code, out = run_once(network, SHELL, "rclone/rclone", ["sh", "-c", "touch /owned/x"], binds=binds, caps=("DAC_READ_SEARCH",))
    assert code != 0 and "Permission denied" in out, out
    code, out = run_once(network, SHELL, "rclone/rclone", ["sh", "-c", "touch /owned/y"], binds=binds, caps=("DAC_OVERRIDE",))
    assert code == 0, out
