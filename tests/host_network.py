"""The host's network interfaces, shared by the browser tests and the catalog runs' sandbox.

Chromium aborts the requests it has in flight with net::ERR_NETWORK_CHANGED when an interface or an
address of the host changes. The sandbox (tests/catalog_runs/sandbox.py) adds and removes a bridge
and veth pairs on the host while the other xdist worker runs the browser tests: a CI run lost a page
load to it, and the page never connected. Chromium learns of a change up to seconds after it, so
the browser tests hold a shared flock from the first of them to the last (they run first on their
worker, tests/conftest.py), and a change to the host's interfaces takes it exclusively. The file is
named after the checkout, so runs of different checkouts do not wait for each other."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = Path(tempfile.gettempdir()) / f"mlops-host-network-{hashlib.sha256(str(REPO).encode()).hexdigest()[:12]}.lock"


@contextmanager
def _held(kind: int):
    with open(LOCK, "a") as f:
        fcntl.flock(f, kind)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_held_for_browsing: list = []


def hold_for_browsing() -> None:
    """Take the shared lock until `let_go` (the browser tests of this worker, from first to last)."""
    if not _held_for_browsing:
        f = open(LOCK, "a")  # noqa: SIM115 (kept open until let_go)
        fcntl.flock(f, fcntl.LOCK_SH)
        _held_for_browsing.append(f)


def let_go() -> None:
    while _held_for_browsing:
        f = _held_for_browsing.pop()
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


def browsing():
    """Held by browser tests: any number at once, never during a change."""
    return _held(fcntl.LOCK_SH)


def changing():
    """Held while the host's interfaces or addresses change: alone."""
    return _held(fcntl.LOCK_EX)
