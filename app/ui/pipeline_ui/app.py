"""Streamlit UI entry point: title, a short introduction and the Data → Train → Predict path.

Each page lives in `pipeline_ui.views`; API errors are shown inline by each section
(`widgets.inline_errors`), so one failing call never wipes the rest of a page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pipeline_ui.views import data, feedback, jobs, models, predict, train

# An emoji icon: Streamlit 1.67.0's frontend (static/js/index.*.js, its favicon handler) draws an emoji as an
# inline SVG data: URL, whereas a ":material/…" page icon makes every page load fetch the icon's SVG from
# fonts.gstatic.com (commands/page_config.py passes it through as is). A self-hosted platform calls no third party.
st.set_page_config(page_title="MLOps pipeline", page_icon="📈", layout="wide")

PAGES = {
    "Workflow": [
        st.Page(data.render, title="1 · Data", icon=":material/table:", default=True),
        st.Page(train.render, title="2 · Train", icon=":material/model_training:", url_path="train"),
        st.Page(predict.render, title="3 · Predict", icon=":material/online_prediction:", url_path="predict"),
    ],
    "Follow up": [
        st.Page(jobs.render, title="Jobs", icon=":material/schedule:", url_path="jobs"),
        st.Page(models.render, title="Models", icon=":material/deployed_code:", url_path="models"),
        st.Page(feedback.render, title="Feedback", icon=":material/feedback:", url_path="feedback"),
    ],
}

page = st.navigation(PAGES)
st.title("MLOps pipeline")
st.caption(
    "From a CSV file to trusted predictions in three steps: **Data** (upload and inspect a table) → "
    "**Train** (teach a classifier to predict one of its columns) → **Predict** (score new records). "
    "Jobs, Models and Feedback follow up on them."
)
# Streamlit 1.67.0 closes the sidebar after a page link only when the user agent names a phone
# (static/js/index.*.js: the nav link's onClick collapses when ua-parser's deviceType is "mobile"); a
# narrow window is a phone too: below its md breakpoint (768 px) the sidebar covers the page. Drawn before
# the page, so the listener is there however long the page takes.
st.html(Path(__file__).with_name("close_sidebar.html"), unsafe_allow_javascript=True)
page.run()
