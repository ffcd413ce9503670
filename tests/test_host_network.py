"""Browser tests and the catalog runs' sandbox take turns on the host's network (tests/host_network.py):
Chromium aborts its requests in flight when the host's interfaces change."""

from __future__ import annotations

import fcntl
import subprocess

import pytest

from tests import host_network
from tests.catalog_runs import sandbox


@pytest.fixture(autouse=True)
def own_lock(tmp_path, monkeypatch):
    """A lock file of these tests' own: the real one is held by the browser tests of the session,
    which may run beside them in the other worker."""
    monkeypatch.setattr(host_network, "LOCK", tmp_path / "host-network.lock")


def can_take(kind: int) -> bool:
    """Whether another holder could take the lock now (a second open file: flock counts it apart)."""
    with open(host_network.LOCK, "a") as f:
        try:
            fcntl.flock(f, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_no_interface_change_while_a_browser_test_runs():
    with host_network.browsing():
        assert not can_take(fcntl.LOCK_EX)
    assert can_take(fcntl.LOCK_EX)


def test_the_browser_tests_hold_the_network_steady_from_the_first_to_the_last():
    host_network.hold_for_browsing()
    try:
        assert not can_take(fcntl.LOCK_EX)
    finally:
        host_network.let_go()
    assert can_take(fcntl.LOCK_EX)
    host_network.let_go()  # a worker's later tests let go again: nothing held, nothing to do


def test_browser_tests_run_beside_each_other():
    with host_network.browsing():
        assert can_take(fcntl.LOCK_SH)


@pytest.mark.parametrize(
    "argv, alone",
    [
        (("ip", "link", "add", "crb1", "type", "bridge"), True),
        (("ip", "addr", "add", "10.200.0.1/24", "dev", "crb1"), True),
        (("ip", "link", "set", "crv1x0", "up"), True),
        (("ip", "netns", "del", "catrun-1-api"), True),
        (("ip", "-n", "catrun-1-api", "link", "set", "lo", "up"), False),
        (("ip", "-o", "-4", "addr", "show"), False),
    ],
)
def test_the_sandbox_changes_the_hosts_interfaces_only_while_no_browser_test_runs(monkeypatch, argv, alone):
    seen = []

    def run(args, **kw):
        seen.append(not can_take(fcntl.LOCK_SH))  # a browser test could not start now
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(sandbox.subprocess, "run", run)
    sandbox.sh(*argv)
    assert seen == [alone]


def test_a_namespace_takes_its_veth_pair_off_the_host_under_the_lock_before_it_goes(monkeypatch):
    seen = []

    def run(args, **kw):
        seen.append((tuple(args), not can_take(fcntl.LOCK_SH)))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(sandbox.subprocess, "run", run)
    sandbox.kill_namespace("catrun-1-api")
    assert seen[0] == (("ip", "-n", "catrun-1-api", "link", "del", "eth0"), True)
    assert seen[-1] == (("ip", "netns", "del", "catrun-1-api"), True)
