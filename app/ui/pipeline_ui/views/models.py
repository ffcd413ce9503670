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


VERSION_COLUMNS = ["version", "role", "registered (UTC)", "data set", "target", "rows", *METRIC_NAMES.values(), "training"]


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
                # Its training job's page: metrics against the champion of the day, confusion matrix, ROC, importance.
                "training": f"train?train_job={v['job_id']}" if v.get("job_id") else None,
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
    if done := st.session_state.pop(f"champion_done:{model['name']}", None):
        st.success(done, icon=":material/check:")
    table = version_rows(model, dataset_names, datasets)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            **{label: st.column_config.NumberColumn(format="%.3f") for label in METRIC_NAMES.values()},
            "training": st.column_config.LinkColumn(display_text="diagnostics", help="The training job: metrics and charts"),
        },
    )
    history = table.melt(id_vars=["version", "role"], value_vars=list(METRIC_NAMES.values()), var_name="metric")
    history = history.assign(value=pd.to_numeric(history["value"], errors="coerce")).dropna(subset=["value"])
    if len(table) > 1 and not history.empty:
        line = alt.Chart(history, height=200, title="Metrics by version").encode(
            x=alt.X("version:O"), y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None), color="metric:N",
            tooltip=["version:O", "metric:N", alt.Tooltip("value:Q", format=".3f"), "role:N"],
        )
        st.altair_chart(line.mark_line(point=True), width="stretch")
    if len(model["versions"]) > 1 or not champion:
        champion_form(model, champion)


def champion_form(model: dict, champion: str | None) -> None:
    """Promote or roll back by hand: any version, with a reason the registry keeps beside it."""
    others = [str(v["version"]) for v in model["versions"] if str(v["version"]) != str(champion)]
    with st.expander(f"Make another version of {model['name']} the champion" if champion else f"Choose a champion for {model['name']}"):
        with st.form(f"champion:{model['name']}", border=False):
            version = st.selectbox("Version", others, key=f"champion_version:{model['name']}")
            reason = st.text_input("Why", placeholder="e.g. roll back: version 4 mislabels the new data", key=f"champion_reason:{model['name']}")
            submitted = st.form_submit_button("Make it the champion")
        if submitted:
            if not reason.strip():
                st.error("Say why: the reason is kept with the version.", icon=":material/warning:")
                return
            with inline_errors():
                done = client().set_champion(model["name"], version, reason.strip())
                was = f" (it was version {done['previous_version']})" if done.get("previous_version") else ""
                st.session_state[f"champion_done:{model['name']}"] = (
                    f"Version {done['version']} of {model['name']} is now the champion{was}: it answers predictions within seconds."
                )
                st.rerun()  # the table and the caption show the new champion
