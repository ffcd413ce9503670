"""The UI as its image runs it (the Dockerfile's CMD, ENV and Streamlit config), driven by Debian's Chromium.

The API and the worker are the session's real services (tests/conftest.py), shared with tests/app.
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.app.services import REPO, free_port, wait_for

from .pages import follow_socket

UI_DIR = REPO / "app" / "ui"  # the build context's ui/, laid out as the image's /app
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
#: No sandbox (root in CI containers) and nothing that phones home or updates itself.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def dockerfile_cmd_and_env(dockerfile: Path) -> tuple[list[str], dict[str, str]]:
    """The image's CMD (exec form) and its ENV settings, read from the Dockerfile itself."""
    text = dockerfile.read_text().replace("\\\n", " ")
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M)[1])
    env = {}
    for line in re.findall(r"^ENV (.*)$", text, re.M):
        env.update(re.findall(r"(\w+)=(\S+)", line))
    return cmd, env


def streamlit_command(port: int) -> tuple[list[str], dict[str, str]]:
    cmd, env = dockerfile_cmd_and_env(UI_DIR / "Dockerfile")
    assert cmd[:2] == ["streamlit", "run"], cmd
    cmd = [sys.executable, "-m", *cmd]  # the venv's streamlit
    cmd = [a.replace("0.0.0.0", "127.0.0.1") if a.startswith("--server.address") else a for a in cmd]
    cmd = [f"--server.port={port}" if a.startswith("--server.port") else a for a in cmd]
    env = {k: v.replace("/app", str(UI_DIR)) for k, v in env.items()}
    return cmd, env


@pytest.fixture(scope="session")
def ui_url(stack, api_url, worker):
    port = free_port()
    cmd, env = streamlit_command(port)
    proc = stack.procs.start(
        "streamlit", cmd, cwd=UI_DIR, env={**env, "API_URL": api_url, "API_TOKEN": stack.api_token, "HOME": str(stack.root)}
    )
    url = f"http://127.0.0.1:{port}"
    _LOGS["Streamlit log"] = stack.root / "streamlit.log"
    wait_for(lambda: httpx.get(url + "/_stcore/health", timeout=2).status_code == 200, "Streamlit UI", 90, proc)
    yield url
    stack.procs.stop(proc)


#: What a failing browser test reports besides its assertion: the browser's console (Streamlit's
#: frontend logs its connection and message errors there) and the end of the UI server's log.
_CONSOLE: collections.deque[str] = collections.deque(maxlen=40)
_LOGS: dict[str, Path] = {}


def watched(page):
    """A page whose console lines go to the failure report, followed by pages.script_run."""
    page.on("console", lambda msg: _CONSOLE.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: _CONSOLE.append(f"page error: {exc}"))
    return follow_socket(page)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if call.when == "setup":
        _CONSOLE.clear()
    if call.when == "call" and report.failed:
        if _CONSOLE:
            report.sections.append(("browser console (last lines)", "\n".join(_CONSOLE)))
        for title, path in _LOGS.items():
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-40:]
                report.sections.append((f"{title} (last lines)", "\n".join(tail)))


@pytest.fixture(scope="session", autouse=True)
def steady_host_network():
    """No change to the host's interfaces from the first browser test to the last (tests/host_network.py:
    Chromium reports a change up to seconds after it, so a lock per test or per module would not
    do). The root conftest lets go once this worker runs its first test that is not a browser test."""
    from tests import host_network

    host_network.hold_for_browsing()
    yield
    host_network.let_go()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def new_page(browser, ui_url: str, viewport: dict, **options):
    """A page of the UI in a fresh browser context (a new Streamlit session), watched; close its context after."""
    from playwright.sync_api import expect

    expect.set_options(timeout=120_000)  # a loaded CI machine renders slowly; waits end as soon as content shows
    context = browser.new_context(viewport=viewport, base_url=ui_url, **options)
    context.set_default_timeout(120_000)
    return watched(context.new_page())


@pytest.fixture(scope="module")
def page(browser, ui_url):
    pg = new_page(browser, ui_url, {"width": 1400, "height": 1800})
    yield pg
    pg.context.close()


def screenshot(page, name: str) -> Path:
    """A full-page screenshot in build/screenshots/<name>.png (a test artifact, gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot(page, request):
    """shot('name'): `screenshot` of the module's page, named after the test."""
    return lambda name: screenshot(page, f"{request.node.name.removeprefix('test_')[:60]}--{name}")


@pytest.fixture
def open_page(browser, ui_url):
    """open_page(viewport): `new_page`, its context closed after the test."""
    from .pages import DESKTOP

    pages = []

    def open_(viewport: dict = DESKTOP, **options):
        pages.append(new_page(browser, ui_url, viewport, **options))
        return pages[-1]

    yield open_
    for pg in pages:
        pg.context.close()


def upload_frame(client, frame, name: str) -> dict:
    """A data set uploaded through the API (the tests here are about what the UI makes of it)."""
    from tests.app.flow import upload

    return upload(client, frame.to_csv(index=False).encode(), name)


@pytest.fixture(scope="session")
def form_model(client, worker) -> str:
    """A model whose inputs are, in CSV order, a required whole number (age), an optional number
    (weight, with gaps), another required number and a category: four fields, more than a form row."""
    import io

    import numpy as np
    import pandas as pd

    from tests.app.conftest import make_csv
    from tests.app.flow import train_ok

    df = pd.read_csv(io.BytesIO(make_csv()))
    weight = np.random.default_rng(5).normal(70, 12, len(df)).round(1)
    weight[::9] = np.nan
    df.insert(1, "weight", weight)
    train_ok(client, df.to_csv(index=False).encode(), "ui-form-data", "ui-form-model")
    return "ui-form-model"


SPECIES = ("Adelie", "Gentoo", "Chinstrap")


@pytest.fixture(scope="session")
def species_training(client, worker) -> dict:
    """A three-class model on 17 inputs (16 measurements, each with a few gaps, and a habitat of three
    values): more bars than a chart has room for at a fixed height. The finished training job."""
    import numpy as np
    import pandas as pd

    from tests.app.flow import train

    rng = np.random.default_rng(11)
    rows = 240
    species = rng.choice(SPECIES, rows)
    shift = pd.Series(species).map({"Adelie": 0.0, "Gentoo": 1.5, "Chinstrap": 3.0}).to_numpy()
    frame = pd.DataFrame({f"measurement_{i:02d}": (rng.normal(0, 1, rows) + shift * (i % 4 == 0)).round(3) for i in range(1, 17)})
    for i, col in enumerate(frame.columns):
        frame.loc[rng.choice(rows, 2 + i, replace=False), col] = np.nan
    frame["habitat"] = rng.choice(["coast", "ice", "rock"], rows)
    frame["species"] = species
    ds = upload_frame(client, frame, "ui-species")
    job = train(client, ds["id"], "ui-species-model", target="species")
    assert job["status"] == "succeeded", job["error"]
    return job
