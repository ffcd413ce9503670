"""Steps and readings the browser tests share: navigation, choices, a settled script run, chart labels."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def nav(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def choose(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=False).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def pick(page: Page, label: str, option: str) -> None:
    """Choose the first option of the selectbox `label` that holds `option`, once the page has settled
    (a long option list is drawn in part: typing filters it down to the option)."""
    settled(page)
    page.get_by_role("combobox", name=label, exact=True).click()
    page.keyboard.type(option)
    page.get_by_role("option").filter(has_text=option).first.click()
    expect(page.get_by_role("combobox", name=label, exact=True)).to_match_aria_snapshot(
        f'- combobox "{label}": /.*{re.escape(option)}.*/'
    )
    settled(page)


def charts(page: Page):
    return page.get_by_test_id("stVegaLiteChart")


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
