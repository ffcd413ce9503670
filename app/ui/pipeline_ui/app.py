"""Streamlit UI: Data, Train, Predict, Models, Feedback. Every API error is shown as a message."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline_ui.client import ApiClient, ApiError

PAGES = ("Data", "Train", "Predict", "Models", "Feedback")


def api() -> ApiClient:
    return ApiClient()


def champion_inputs(models: list[dict], name: str) -> tuple[str | None, dict]:
    model = next((m for m in models if m["name"] == name), None)
    if not model or "champion" not in model["aliases"]:
        return None, {}
    version = model["aliases"]["champion"]
    return version, next(v for v in model["versions"] if v["version"] == version)


def page_data(client: ApiClient) -> None:
    st.header("Data")
    upload = st.file_uploader("Upload a CSV file", type=["csv"])
    name = st.text_input("Name", value="")
    if st.button("Upload", disabled=upload is None):
        ds = client.upload(name or upload.name.removesuffix(".csv"), upload.getvalue())
        st.success(f"Uploaded {ds['name']}: {ds['rows']} rows, {len(ds['columns'])} columns")
    datasets = client.datasets()
    if not datasets:
        st.info("No data sets yet.")
        return
    st.dataframe(pd.DataFrame([{k: d[k] for k in ("id", "name", "rows")} for d in datasets]), hide_index=True)
    chosen = st.selectbox("Preview", [d["id"] for d in datasets], format_func=lambda i: next(d["name"] for d in datasets if d["id"] == i))
    if chosen:
        st.dataframe(pd.DataFrame(client.preview(chosen)["rows"]))


def page_train(client: ApiClient) -> None:
    st.header("Train")
    datasets = client.datasets()
    if not datasets:
        st.info("Upload a data set first.")
        return
    ds_id = st.selectbox("Data set", [d["id"] for d in datasets], format_func=lambda i: next(d["name"] for d in datasets if d["id"] == i))
    columns = [c["name"] for c in next(d for d in datasets if d["id"] == ds_id)["columns"]]
    target = st.selectbox("Target column", columns, index=len(columns) - 1)
    model_name = st.text_input("Model name", value="tabular-classifier")
    optimize = st.checkbox("Hyper-parameter search")
    feedback = st.checkbox("Include collected feedback")
    if st.button("Start training"):
        job = client.train(dataset_id=ds_id, target=target, model_name=model_name, optimize=optimize, include_feedback=feedback)
        st.session_state["train_job"] = job["id"]
    if job_id := st.session_state.get("train_job"):
        job = client.job(job_id)
        st.write(f"Job {job_id}: **{job['status']}**")
        if job["status"] == "succeeded":
            r = job["result"]
            st.metric("ROC AUC", f"{r['metrics']['roc_auc']:.3f}")
            st.json({"version": r["model_version"], "champion": r["champion"], **r["metrics"]})
        elif job["status"] == "failed":
            st.error(job["error"])
        elif st.button("Refresh"):
            st.rerun()


def page_predict(client: ApiClient) -> None:
    st.header("Predict")
    models = client.models()
    if not models:
        st.info("Train a model first.")
        return
    name = st.selectbox("Model", [m["name"] for m in models])
    version, _ = champion_inputs(models, name)
    if version is None:
        st.warning("This model has no champion version yet.")
        return
    preview = client.datasets()
    st.caption(f"Champion: version {version}")
    schema = next(m for m in models if m["name"] == name).get("inputs") or []
    with st.form("single"):
        st.write("Single record (fields from the champion's input signature)")
        record = {}
        for col in schema:
            if col["type"] in ("double", "float", "long", "integer"):
                record[col["name"]] = st.number_input(col["name"], value=0.0)
            elif col["type"] == "boolean":
                record[col["name"]] = st.checkbox(col["name"])
            else:
                value = st.text_input(col["name"])
                record[col["name"]] = value or None
        raw = st.text_area("…or a JSON record", value="")
        if st.form_submit_button("Predict"):
            import json

            body = json.loads(raw) if raw.strip() else record
            job = client.predict(model_name=name, records=[body])
            st.session_state["predict_job"] = job["id"]
    ds_ids = [d["id"] for d in preview]
    if ds_ids:
        ds = st.selectbox("Batch: data set", ds_ids, format_func=lambda i: next(d["name"] for d in preview if d["id"] == i))
        if st.button("Score data set"):
            st.session_state["predict_job"] = client.predict(model_name=name, dataset_id=ds)["id"]
    if job_id := st.session_state.get("predict_job"):
        job = client.job(job_id)
        st.write(f"Job {job_id}: **{job['status']}**")
        if job["status"] == "succeeded" and "predictions" in (job["result"] or {}):
            st.dataframe(pd.DataFrame(job["result"]["predictions"]))
        elif job["status"] == "succeeded":
            st.download_button("Download predictions", client.result_csv(job_id), file_name=f"predictions-{job_id}.csv")
        elif job["status"] == "failed":
            st.error(job["error"])


def page_models(client: ApiClient) -> None:
    st.header("Models")
    models = client.models()
    if not models:
        st.info("No registered models yet.")
    for m in models:
        st.subheader(m["name"])
        rows = [{"version": v["version"], "champion": "champion" in v["aliases"], **v["metrics"]} for v in m["versions"]]
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def page_feedback(client: ApiClient) -> None:
    st.header("Feedback")
    st.write("Record the true label of a record the model scored; it joins the next training with feedback.")
    with st.form("feedback"):
        name = st.text_input("Model name", value="tabular-classifier")
        raw = st.text_area("Record (JSON object)", value="{}")
        label = st.text_input("True label")
        if st.form_submit_button("Send feedback"):
            import json

            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                st.error(f"record: not valid JSON ({exc.msg})")
                return
            client.feedback(model_name=name, record=record, label=label)
            st.success("Feedback stored.")


def main() -> None:
    st.set_page_config(page_title="MLOps pipeline", layout="wide")
    page = st.sidebar.radio("Page", PAGES)
    client = api()
    try:
        {"Data": page_data, "Train": page_train, "Predict": page_predict, "Models": page_models, "Feedback": page_feedback}[page](client)
    except ApiError as exc:
        st.error(str(exc))


main()
