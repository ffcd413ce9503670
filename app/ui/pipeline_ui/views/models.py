"""Models: every registered model, its versions with where they came from, and its metrics over time.

The registry may hold anything (an empty model a failed first training left, versions registered
without a run or metrics): each model is drawn from whatever its versions carry."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import altair as alt

from pipeline_ui.lineage import training_source
from pipeline_ui.widgets import METRIC_NAMES, client, inline_errors, when


def render() -> None:
    api = client()
    st.header("Models")
    st.write("Each training adds a version; the **champion** is the version that answers predictions.")
    with inline_errors():
        models = api.models()
        if not models:
            st.info("No models yet: train one on **Train**.")
            return
        datasets = api.datasets()
        names = {d["id"]: d["name"] for d in datasets}
        for m in models:
            show_model(m, names, datasets)


VERSION_COLUMNS = ["version", "role", "registered (UTC)", "data set", "target", "rows", *METRIC_NAMES.values()]


def version_rows(model: dict, dataset_names: dict[str, str], datasets: list[dict]) -> pd.DataFrame:
    rows = []
    for v in model.get("versions") or []:
        params = v.get("params") or {}
        if not params and "champion" in (v.get("aliases") or []):  # an API that does not list run params yet
            ds, target = training_source(model, datasets)
            params = {"dataset_id": ds["id"], "target": target} if ds else {}
        rows.append(
            {
                "version": int(v["version"]),
                "role": "champion" if "champion" in (v.get("aliases") or []) else "",
                "registered (UTC)": when(v.get("created_at")),
                "data set": dataset_names.get(params.get("dataset_id"), params.get("dataset_id", "")),
                "target": params.get("target", ""),
                "rows": params.get("rows", ""),
                **{label: (v.get("metrics") or {}).get(key) for key, label in METRIC_NAMES.items()},
            }
        )
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def show_model(model: dict, dataset_names: dict[str, str], datasets: list[dict]) -> None:
    st.subheader(model["name"])
    champion = (model.get("aliases") or {}).get("champion")
    if not model.get("versions"):
        st.caption(f"{model['name']} has no versions yet (a training into it failed or has not finished).")
        return
    st.caption(f"Champion: version {champion}" if champion else "No champion yet.")
    table = version_rows(model, dataset_names, datasets)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={label: st.column_config.NumberColumn(format="%.3f") for label in METRIC_NAMES.values()},
    )
    history = table.melt(id_vars=["version", "role"], value_vars=list(METRIC_NAMES.values()), var_name="metric")
    history = history.assign(value=pd.to_numeric(history["value"], errors="coerce")).dropna(subset=["value"])
    if len(table) > 1 and not history.empty:
        line = alt.Chart(history, height=200, title="Metrics by version").encode(
            x=alt.X("version:O"), y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None), color="metric:N",
            tooltip=["version:O", "metric:N", alt.Tooltip("value:Q", format=".3f"), "role:N"],
        )
        st.altair_chart(line.mark_line(point=True), width="stretch")
