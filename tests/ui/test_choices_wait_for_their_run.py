"""The browser tests' choice helpers (pages.pick, pages.choose) return only once the script run the
choice starts has ended: the next step then acts on the page drawn for the choice, not the one before.
Tried on an app whose run after a choice is slow (the race a loaded CI machine gave the Predict page)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import Page

from tests.app.services import free_port, wait_for

from .pages import DESKTOP, choose, follow_socket, pick, settled

SLOW_APP = """
import time
import streamlit as st

colour = st.selectbox("Colour", ["red", "green", "blue"])
if colour != "red":
    time.sleep(2)  # a slow run: the page drawn for the choice comes two seconds after it
st.write(f"Drawn for {colour}")
"""


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("slow-app")
    (root / "app.py").write_text(SLOW_APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(url + "/_stcore/health", timeout=2).status_code == 200, "slow Streamlit app", 60, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
def page(browser, slow_app):
    """The slow app, drawn for its first choice, in a fresh browser context (a new session)."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(60_000)
    page = follow_socket(context.new_page())
    page.goto(slow_app)
    page.get_by_text("Drawn for red").wait_for()
    settled(page)
    yield page
    context.close()


def test_pick_returns_once_the_page_is_drawn_for_the_choice(page: Page):
    pick(page, "Colour", "green")
    assert page.get_by_text("Drawn for green").count() == 1


def test_choose_returns_once_the_page_is_drawn_for_the_choice(page: Page):
    choose(page, "Colour", "blue")
    assert page.get_by_text("Drawn for blue").count() == 1


def test_choosing_the_value_a_box_holds_returns_at_once(page: Page):
    pick(page, "Colour", "red")
    choose(page, "Colour", "red")
    assert page.get_by_text("Drawn for red").count() == 1
