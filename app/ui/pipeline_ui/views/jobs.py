"""Jobs: the recent training and prediction jobs, from the API, refreshed by themselves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline_ui.widgets import client, inline_errors, when
from pipeline_ui.client import first_sentence

REFRESH_SECONDS = 3


def render() -> None:
    st.header("Jobs")
    st.write(f"The latest jobs of everyone using the platform; the list updates itself every {REFRESH_SECONDS} seconds.")
    kind = st.segmented_control("Show", ["all", "training", "prediction"], default="all")
    recent_jobs(None if kind in (None, "all") else kind)


@st.fragment(run_every=REFRESH_SECONDS)
def recent_jobs(kind: str | None) -> None:
    with inline_errors():
        api = client()
        jobs = api.jobs(limit=50, kind=kind)
        if not jobs:
            st.info("No jobs yet.")
            return
        names = dataset_names(api, {(j.get("params") or {}).get("dataset_id") for j in jobs} - {None})
        st.dataframe(
            pd.DataFrame([job_row(j, names) for j in jobs]),
            hide_index=True,
            width="stretch",
            column_config={"details": st.column_config.LinkColumn(display_text="open", help="The job's page: progress, metrics and charts, or the scored rows")},
        )


def dataset_names(api, wanted: set[str]) -> dict[str, str]:
    """Data-set names by id, kept in the session: the list (every data set with its columns) is read
    again only when a job names one not seen yet, not on every refresh."""
    names = st.session_state.setdefault("dataset_names", {})
    if not wanted <= names.keys():
        names.update({d["id"]: d["name"] for d in api.datasets()})
    return names


def job_row(job: dict, names: dict[str, str]) -> dict:
    """One job as people know it: the data set by name (an id names nothing to them)."""
    params = job.get("params") or {}
    result = job.get("result") or {}
    if job["status"] == "failed":
        outcome = first_sentence(job.get("error"), 120)
    elif job["kind"] == "training" and result:
        outcome = f"version {result.get('model_version')}" + (" (champion)" if result.get("champion") else "")
    elif result:
        outcome = f"{result.get('rows', len(result.get('predictions') or []))} rows scored"
    else:
        outcome = ""
    return {
        "status": job["status"],
        "kind": job["kind"],
        "model": params.get("model_name", result.get("model_name", "")),
        "data set": names.get(params["dataset_id"], "a deleted data set") if params.get("dataset_id") else "",
        "target / input": params.get("target") or (f"{params['record_count']} records" if "record_count" in params else ""),
        "started (UTC)": when(job.get("created_at")),
        "outcome": outcome,
        "details": details_link(job),
    }


def details_link(job: dict) -> str | None:
    """The page that follows the job: Train for a training, Predict's batch tab for a scored data set."""
    if job["kind"] == "training":
        return f"train?train_job={job['id']}"
    if (job.get("params") or {}).get("dataset_id"):
        return f"predict?batch_job={job['id']}"
    return None
