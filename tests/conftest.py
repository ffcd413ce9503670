"""The application stack the whole session shares: real PostgreSQL, RabbitMQ, an S3 server and
MLflow (started as their containers run them, tests/app/services.py), with the API and a worker.

tests/app and tests/ui use the same one, started once. The browser flow (tests/ui) runs first,
so it sees the platform as a first-time user does: no data sets, no models.
"""

import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.app.services import PYTHONPATH, Stack

for p in reversed(PYTHONPATH.split(":")):
    if p not in sys.path:
        sys.path.insert(0, p)


#: `make test` runs two xdist workers (`--dist loadgroup`). Tests that share service processes
#: stay in one worker, so each set of services starts once: the session stack of tests/ui and
#: tests/app in one; the suites that start their own services, one after another, in the other
#: (with three workers the catalog runs' RabbitMQ failed to boot while two other stacks started).
#: Mock-runtime, config and lint tests go to whichever worker is free.
XDIST_GROUPS = {
    "tests/ui/": "app-stack",
    "tests/app/": "app-stack",
    "tests/verify/": "own-services",
    "tests/backup/": "own-services",
    "tests/upgrades/": "own-services",
    "tests/catalog_runs/": "own-services",
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the groups into node ids
def pytest_collection_modifyitems(session, config, items):
    """The browser flow first (on a fresh stack), the catalog runs last, everything else in its usual order."""
    # The catalog runs last in their worker: their network changes wait for the browser tests to end
    # (tests/host_network.py), and the other suites of that worker need not wait with them.
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/ui/") else 2 if item.nodeid.startswith("tests/catalog_runs/") else 1)
    for item in items:
        group = next((g for prefix, g in XDIST_GROUPS.items() if item.nodeid.startswith(prefix)), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    if any(item.nodeid.startswith("tests/catalog_runs/") for item in items):
        prepare_image_venvs()


def pytest_runtest_setup(item):
    """A worker past its browser tests (they run first) lets the host's network change again."""
    if not item.nodeid.startswith("tests/ui/"):
        from tests import host_network

        host_network.let_go()


def prepare_image_venvs() -> None:
    """Build the image virtualenvs that tests/catalog_runs needs (pip installs of a few minutes on a
    fresh clone) while the earlier tests run; catalog_runs then finds them built, or waits on the
    build's lock (tests/catalog_runs/venvs.py) and reports its error itself."""
    from tests.catalog_runs.images import RUNNABLE, BuiltRun
    from tests.catalog_runs.venvs import REPO, image_venv

    def build() -> None:
        for run in RUNNABLE.values():
            if isinstance(run, BuiltRun) and run.requirements:
                try:
                    image_venv(Path(run.dockerfile).parent.name, REPO / run.requirements)
                except Exception:  # noqa: BLE001  (catalog_runs builds again and fails with the reason)
                    pass

    threading.Thread(target=build, name="image-venvs", daemon=True).start()


@pytest.fixture(scope="session")
def stack():
    s = Stack().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def api_url(stack):
    return stack.start_api()


@pytest.fixture(scope="session")
def worker(stack):
    return stack.start_worker()


@pytest.fixture(scope="session")
def client(api_url, stack):
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def csv_bytes():
    from tests.app.conftest import make_csv

    return make_csv()


READ_ONLY_MODEL = "read-only-model"


@pytest.fixture(scope="session")
def read_only_model(client, worker, csv_bytes) -> str:
    """A model trained once for the tests that only check inputs against it or predict with it;
    none of them retrains or promotes it, so they can share it."""
    from tests.app.flow import train_ok

    train_ok(client, csv_bytes, "read-only", READ_ONLY_MODEL)
    return READ_ONLY_MODEL
