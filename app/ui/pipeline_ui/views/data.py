"""Data: upload a CSV, see the data sets and a picture of each column (of a few, and a search, when wide)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from pipeline_ui.widgets import BAR_STEP, bar_labels, client, column_chart, inline_errors, pick_dataset, plain_number, when

#: A profile of more columns than this summarises: CHARTED charts, a search box, the MISSING_BARS gappiest columns.
WIDE, CHARTED, MISSING_BARS = 30, 12, 30
KIND_LABELS = {"numeric": "number", "integer": "whole number", "categorical": "category", "boolean": "yes/no"}


def render() -> None:
    api = client()
    st.header("1 · Data")
    st.write("Upload a CSV file with a header row: one column is what you want to predict, the others describe each row.")
    with inline_errors():
        upload_form(api)
    with inline_errors():
        datasets = api.datasets()
        if not datasets:
            st.info("No data sets yet: upload a CSV file above.")
            return
        st.subheader("Data sets")
        table = pd.DataFrame(
            [{"name": d["name"], "rows": d["rows"], "columns": len(d["columns"]), "uploaded (UTC)": when(d.get("created_at"))} for d in datasets]
        )
        st.dataframe(table, hide_index=True, width="stretch")
        if deleted := st.session_state.pop("deleted", None):
            st.success(f"Deleted **{deleted}**.", icon=":material/delete:")
        chosen = pick_dataset(datasets, "Look at", key="data_pick", prefer=st.session_state.get("uploaded"))
        with inline_errors():
            show_profile(api, chosen)
        with inline_errors():  # a profile that fails to load leaves the deletion
            delete_form(api, chosen)


def upload_form(api) -> None:
    with st.form("upload", clear_on_submit=True, border=True):
        upload = st.file_uploader("CSV file", type=["csv"])
        name = st.text_input("Name (optional)", placeholder="taken from the file name")
        if st.form_submit_button("Upload data set", type="primary"):
            if upload is None:
                st.error("Choose a CSV file first.")
                return
            ds = api.upload(name.strip() or upload.name.removesuffix(".csv"), upload.getvalue())
            st.session_state["uploaded"] = ds["id"]
            st.session_state["data_pick"] = ds["id"]  # the profile below follows the newest upload
            st.success(f"Uploaded **{ds['name']}**: {ds['rows']:,} rows, {len(ds['columns'])} columns. Next: **Train**.")


def show_profile(api, ds: dict) -> None:
    profile = api.profile(ds["id"])
    cols = profile["columns"]
    st.subheader(f"Profile of {ds['name']}")
    a, b, c = st.columns(3)
    a.metric("Rows", f"{profile['rows']:,}")
    b.metric("Columns", f"{profile['column_count']:,}")
    c.metric("Missing cells", f"{sum(col['missing'] for col in cols):,}")
    if uploaded := when(profile.get("created_at")):  # a sentence, not a metric: a narrow metric cut the date short
        st.caption(f"Uploaded {uploaded} UTC.")
    shown = cols
    if len(cols) > WIDE:
        st.caption(
            f"Charts of {CHARTED} of {len(cols):,} columns: those with the most missing values, then those a "
            "classifier could predict, then in file order. Find any column by name:"
        )
        if query := st.text_input("Find columns", placeholder="part of a column name").strip().lower():
            shown = [col for col in cols if query in col["name"].lower()]
            st.caption(f"{len(shown):,} columns match '{query}'.")
        else:
            shown = sorted(cols, key=lambda col: (-col["missing"], col.get("target_problem") is not None))
    summary = pd.DataFrame(
        [
            {
                "column": col["name"],
                "type": KIND_LABELS[col["kind"]],
                "missing": col["missing"],
                "distinct values": col["distinct"],
                "range / most common": value_summary(col),
            }
            for col in shown
        ]
    )
    st.dataframe(summary, hide_index=True, width="stretch")
    charted = shown[:CHARTED] if len(cols) > WIDE else shown  # a narrow data set: a chart for every column
    charts = [chart for col in charted if (chart := column_chart(col)) is not None]
    for start in range(0, len(charts), 3):
        row = st.columns(3)
        for slot, chart in zip(row, charts[start : start + 3]):
            slot.altair_chart(chart, width="stretch")
    gaps = sorted((c for c in cols if c["missing"]), key=lambda c: -c["missing"])
    missing = pd.DataFrame([{"column": c["name"], "missing": c["missing"]} for c in gaps[:MISSING_BARS]])
    if not missing.empty:
        title = "Missing values per column" if len(gaps) <= MISSING_BARS else f"Missing values: the {MISSING_BARS} columns with the most"
        st.altair_chart(
            alt.Chart(missing, height=alt.Step(BAR_STEP), title=title).mark_bar(color="#e45756").encode(
                x=alt.X("missing:Q", title="rows"), y=alt.Y("column:N", sort="-x", axis=bar_labels())
            ),
            width="stretch",
        )
    with st.expander("First rows"):
        st.dataframe(pd.DataFrame(api.preview(ds["id"])["rows"]), hide_index=True)


def delete_form(api, ds: dict) -> None:
    """Deleting asks for a tick first: the rows and the stored file go for good (models trained on
    the data set keep working)."""
    with st.expander(f"Delete {ds['name']}"):
        sure = st.checkbox(f"Yes, delete {ds['name']} and its stored file", key=f"delete_sure:{ds['id']}")
        if st.button("Delete data set", disabled=not sure, key=f"delete:{ds['id']}"):
            api.delete_dataset(ds["id"])
            for key in ("uploaded", "data_pick"):
                if st.session_state.get(key) == ds["id"]:
                    del st.session_state[key]
            st.session_state["deleted"] = ds["name"]
            st.rerun()


def value_summary(col: dict) -> str:
    if col.get("histogram"):
        return f"{plain_number(col['min'])} … {plain_number(col['max'])} (median {plain_number(col['median'])})"
    top = col.get("top_values") or []
    return ", ".join(v["value"] for v in top[:3]) + (" …" if len(top) > 3 else "")
