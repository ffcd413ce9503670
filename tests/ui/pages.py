"""Steps and readings the browser tests share: navigation, choices, a settled script run, chart labels."""

from __future__ import annotations

import re
import weakref
from contextlib import contextmanager

from playwright.sync_api import Page, WebSocket, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def nav(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def choose(page: Page, label: str, option: str) -> None:
    """Choose `option` of the selectbox `label`, and wait for the script run the choice starts."""
    settled(page)
    box = page.get_by_label(label, exact=False).first
    if box.aria_snapshot().endswith(f": {option}"):
        return  # choosing the value it holds starts no run
    box.click()
    with script_run(page):
        page.get_by_role("option", name=option, exact=True).click()


def pick(page: Page, label: str, option: str) -> None:
    """Choose the first option of the selectbox `label` that holds `option`, and wait for the script run
    the choice starts (a long option list is drawn in part: typing filters it down to the option)."""
    settled(page)
    box = page.get_by_role("combobox", name=label, exact=True)
    if option in box.aria_snapshot().partition(":")[2]:
        return  # choosing the value it holds starts no run
    box.click()
    page.keyboard.type(option)
    with script_run(page):
        page.get_by_role("option").filter(has_text=option).first.click()
    expect(box).to_match_aria_snapshot(f'- combobox "{label}": /.*{re.escape(option)}.*/')


def charts(page: Page):
    return page.get_by_test_id("stVegaLiteChart")


_SOCKETS: "weakref.WeakKeyDictionary[Page, WebSocket]" = weakref.WeakKeyDictionary()


def follow_socket(page: Page) -> Page:
    """Keep `page`'s current Streamlit websocket (each load opens a new one) for `script_run`."""
    page.on("websocket", lambda socket: _SOCKETS.__setitem__(page, socket))
    return page


def _run_finished(payload: str | bytes) -> bool:
    """A whole script run's end: Streamlit's ForwardMsg script_finished, FINISHED_SUCCESSFULLY (a run cut
    short by the next one, or a fragment's own run, ends otherwise)."""
    if isinstance(payload, str):
        return False
    msg = ForwardMsg()
    msg.ParseFromString(payload)
    return msg.WhichOneof("type") == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY


@contextmanager
def script_run(page: Page):
    """Wait, after the block, for the end of the script run the block starts (a widget change).

    Streamlit's frontend sends the rerun and leaves data-test-script-state at notRunning until the
    server's run begins: `settled` right after a choice can pass before that run, and a click then
    lands on the page the choice is about to replace (a CI run clicked the previous model's Predict
    button). The listener is set before the block, so the run cannot end unseen."""
    with _SOCKETS[page].expect_event("framereceived", predicate=_run_finished):
        yield
    settled(page)


def settled(page: Page) -> None:
    """Wait until Streamlit's script run has ended: stApp's data-test-script-state, the flag Streamlit's
    own end-to-end tests wait on. A step ends on the first text it expects, often while the run that
    drew it is still going; a click then interrupts that run."""
    expect(page.locator("[data-testid=stApp][data-test-script-state=notRunning]")).to_be_attached()


#: The axis labels Vega drew (Streamlit renders Altair charts as SVG): those Vega's overlap removal or
#: label limit hid are left out (opacity 0, or cut with an ellipsis), with their boxes on the page.
_AXIS_LABELS = """(chart, axis) => {
  const shown = [];
  for (const g of chart.querySelectorAll('g.role-axis')) {
    const domainish = g.getAttribute('aria-label') || '';
    if (axis && !domainish.toLowerCase().includes(axis)) continue;
    for (const t of g.querySelectorAll('.role-axis-label text')) {
      const hidden = t.closest('[opacity="0"]') || getComputedStyle(t).opacity === '0' || t.textContent.endsWith('…');
      if (hidden) continue;
      const r = t.getBoundingClientRect();
      shown.push({text: t.textContent, top: r.top, bottom: r.bottom, left: r.left, right: r.right});
    }
  }
  return shown;
}"""


def chart_titled(page: Page, title: str):
    heading = page.locator("svg .role-title-text text", has_text=re.compile(f"^{re.escape(title)}$"))
    chart = charts(page).filter(has=heading).first
    expect(chart.locator("svg")).to_be_visible()
    return chart


def axis_labels(page: Page, title: str, axis: str = "y-axis") -> list[dict]:
    """The labels a reader sees on one axis ('x-axis' or 'y-axis') of the chart titled `title`."""
    return chart_titled(page, title).locator("svg").first.evaluate(_AXIS_LABELS, axis)


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    """Pairs of shown labels whose boxes intersect (one written over the other)."""
    pairs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]:
                pairs.append((a["text"], b["text"]))
    return pairs
