"""One run of the catalog per test session: starting it is the expensive part (a minute or two);
each test then checks one service's result."""

from __future__ import annotations

import signal
import sys

import pytest

from .sandbox import available


@pytest.fixture(scope="session")
def catalog_run():
    reason = available()
    if reason:
        pytest.skip(f"catalog runs need namespaces: {reason}")
    from .runner import CatalogRun

    # A terminated test run must still remove its namespaces: SIGTERM unwinds like Ctrl-C.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = CatalogRun()
    try:
        yield run.start_all()
    finally:
        run.close()
        signal.signal(signal.SIGTERM, previous)
