"""Predict: one record from a form built from the champion's inputs and its training data, or a whole data set."""

from __future__ import annotations

import io
import json
import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pipeline_ui.lineage import champion
from pipeline_ui.widgets import BAR_STEP, bar_labels, client, follow_job, inline_errors, pick_dataset, pick_model, plain_number, target_classes, when
from pipeline_ui.client import ApiError

NOT_KNOWN = "(not known)"
#: More inputs than this make no form (5,000 fields took Streamlit and the browser most of a minute):
#: such a record is pasted as JSON, or a whole data set is scored.
FORM_MAX_FIELDS = 200
NUMERIC = {"double", "float", "long", "integer"}
INTEGER = {"long", "integer"}


def render() -> None:
    api = client()
    st.header("3 · Predict")
    with inline_errors():
        choice = pick_model(api, "predict_model", "Train a model on **Train** first: predictions come from a model's champion version.")
        if choice is None:
            return
        model, source, target, profile, datasets = choice.model, choice.source, choice.target, choice.profile, choice.datasets
        version = champion(model)
        st.caption(
            f"Champion: version {version['version']}, registered {when(version.get('created_at'))} UTC"
            + (f", trained on **{source['name']}** to predict **{target}**" if source else "")
        )
        tabs = ["One record", "A whole data set"]
        single, batch = st.tabs(tabs, default=tabs[1] if st.query_params.get("batch_job") else tabs[0])
        with single:
            inputs = model.get("inputs") or []
            if len(inputs) > FORM_MAX_FIELDS:
                st.info(
                    f"{model['name']} takes {len(inputs):,} columns, too many to fill in one by one: paste a "
                    "record as JSON below, or score a whole data set.", icon=":material/info:",
                )
            else:
                with inline_errors():
                    record_form(api, model, profile, source)
            with inline_errors():
                json_form(api, model, profile)
            with inline_errors():
                feedback_on_prediction(api, model, target, profile)
        with batch:
            with inline_errors():
                batch_section(api, model, datasets)


# -- one record -------------------------------------------------------------------------------
def key_of(model: dict, column: str) -> str:
    return f"in:{model['name']}:{column}"


def record_form(api, model: dict, profile: dict, source: dict | None) -> None:
    inputs = model.get("inputs") or []
    if source:
        fill_from_row(api, model, source, profile)
    with st.form(f"record:{model['name']}"):
        st.write("Fill in the record; choices and defaults come from the training data.")
        raw = {}
        for start in range(0, len(inputs), 3):  # row by row: a phone stacks the fields in CSV order
            for slot, col in zip(st.columns(3), inputs[start : start + 3]):
                with slot:
                    raw[col["name"]] = input_widget(col, profile.get(col["name"]), key_of(model, col["name"]))
        submitted = st.form_submit_button("Predict", type="primary")
        result = st.container()  # right under the button
    if submitted:
        with result, inline_errors():
            record, problems = read_record(inputs, raw, profile)
            missing_required = [c["name"] for c in inputs if c.get("required", True) and record.get(c["name"]) is None]
            if missing_required:
                problems.insert(0, f"Fill in the required fields: {', '.join(missing_required)}.")
            if problems:
                st.error(" ".join(problems), icon=":material/warning:")
                return
            show_prediction(api, model, record, profile)


def read_record(inputs: list[dict], raw: dict, profile: dict) -> tuple[dict, list[str]]:
    """The record the form's fields hold, and a sentence for each number field that holds no number.
    A blank field is None: an optional column is then unknown, a required one is asked for."""
    record, problems = {}, []
    for col in inputs:
        value = raw[col["name"]]
        if col["type"] in NUMERIC:
            value, problem = parse_number(col["name"], value, whole_numbers(col, profile.get(col["name"])))
            if problem:
                problems.append(problem)
        record[col["name"]] = value
    return record, problems


def parse_number(name: str, text: str | None, whole: bool) -> tuple[int | float | None, str | None]:
    """(number, None), (None, None) for a blank field, or (None, why not) for anything else."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        number = float(text)
    except ValueError:
        return None, f"{name}: '{text}' is not a number."
    if not math.isfinite(number):
        return None, f"{name}: '{text}' is not a number."
    if whole:
        if not number.is_integer():
            return None, f"{name}: '{text}' is not a whole number."
        return int(number), None
    return number, None


def number_text(value, whole: bool) -> str:
    """A number as a field holds it: whole numbers without a point, others in full, never with an exponent."""
    return str(int(round(value))) if whole else np.format_float_positional(float(value), trim="-")


def whole_numbers(col: dict, prof: dict | None) -> bool:
    """Integer steps when the model says so or the training data only held whole numbers
    (the model's signature may type such a column as double)."""
    return col["type"] in INTEGER or (prof or {}).get("kind") == "integer"


def input_widget(col: dict, prof: dict | None, key: str):
    label, required = col["name"], col.get("required", True)
    if col["type"] == "boolean":
        return st.checkbox(label, key=key)
    if col["type"] in NUMERIC:
        # A text field, not st.number_input: a cleared field must stay blank (number_input sends 0 or its
        # last value) and text like "4O.5" must be refused (the browser's number field reads it as 4).
        whole = whole_numbers(col, prof)
        median = (prof or {}).get("median")
        st.session_state.setdefault(key, "" if median is None else number_text(median, whole))
        help_ = f"training data: {plain_number(prof['min'])} … {plain_number(prof['max'])}" if prof and prof.get("min") is not None else None
        hint = "a whole number" if whole else "a number"
        return st.text_input(label, key=key, help=help_, placeholder=f"{hint}, required" if required else f"{hint}; blank: unknown")
    values = [v["value"] for v in (prof or {}).get("top_values") or []]
    if values and (prof or {}).get("distinct", 0) <= len(values):
        options = values + ([] if required else [NOT_KNOWN])
        if st.session_state.get(key) not in options:
            st.session_state[key] = values[0]  # the most common value
        chosen = st.selectbox(label, options, key=key, help="values seen in the training data, most common first")
        return None if chosen == NOT_KNOWN else chosen
    text = st.text_input(label, key=key, placeholder="required" if required else "optional").strip()
    return None if text in ("", NOT_KNOWN) else text


def fill_from_row(api, model: dict, source: dict, profile: dict) -> None:
    with st.expander(f"Fill from a row of {source['name']}"):
        row = st.number_input("Row number", min_value=1, max_value=min(source["rows"], 200), value=1, step=1, key=f"row:{model['name']}")
        if st.button("Fill the form", key=f"fill:{model['name']}"):
            values = api.preview(source["id"], rows=int(row))["rows"][int(row) - 1]
            for col in model.get("inputs") or []:
                st.session_state[key_of(model, col["name"])] = widget_value(col, values.get(col["name"]), profile.get(col["name"]))
            st.rerun()


def widget_value(col: dict, value, prof: dict | None = None):
    """A data-set cell as the form's widget for `col` holds it."""
    if col["type"] in NUMERIC:
        return "" if value is None else number_text(value, whole_numbers(col, prof))
    if col["type"] == "boolean":
        return bool(value)
    return NOT_KNOWN if value is None else str(value)


def json_form(api, model: dict, profile: dict) -> None:
    with st.expander("…or paste a record as JSON"):
        example = {c["name"]: example_value(c, profile.get(c["name"])) for c in model.get("inputs") or []}
        with st.form(f"json:{model['name']}"):
            raw = st.text_area("JSON record", value=json.dumps(example, indent=1), height=220)
            submitted = st.form_submit_button("Predict this record")
            result = st.container()
        if submitted:
            with result, inline_errors():
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as exc:
                    st.error(f"That is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
                             'Write one object like {"age": 39, "job": "clerk"}.', icon=":material/warning:")
                    return
                if not isinstance(record, dict):
                    st.error('The record must be one JSON object like {"age": 39, "job": "clerk"}, '
                             f"not a {type(record).__name__}.", icon=":material/warning:")
                    return
                show_prediction(api, model, record, profile)


def example_value(col: dict, prof: dict | None):
    prof = prof or {}
    if col["type"] in NUMERIC and prof.get("median") is not None:
        return round(prof["median"]) if col["type"] in INTEGER else prof["median"]
    if prof.get("top_values"):
        return prof["top_values"][0]["value"]
    return 0 if col["type"] in NUMERIC else ""


def caution(record: dict, profile: dict, inputs: list[dict]) -> list[str]:
    """Why a prediction for this record deserves less trust: values the training data never had, gaps."""
    notes = []
    for col in inputs:
        value, prof = record.get(col["name"]), profile.get(col["name"]) or {}
        if isinstance(value, (int, float)) and not isinstance(value, bool) and prof.get("min") is not None:
            if not prof["min"] <= value <= prof["max"]:
                notes.append(f"{col['name']} = {plain_number(value)} is outside the training data ({plain_number(prof['min'])} … {plain_number(prof['max'])})")
        elif isinstance(value, str) and prof.get("top_values") and prof["distinct"] <= len(prof["top_values"]):
            if value not in {v["value"] for v in prof["top_values"]}:
                notes.append(f"{col['name']} = '{value}' never occurs in the training data")
    blank = [c["name"] for c in inputs if record.get(c["name"]) in (None, "")]
    if blank:
        notes.append(f"{len(blank)} of {len(inputs)} inputs are blank ({', '.join(blank)}) and were filled with typical values")
    return notes


def show_prediction(api, model: dict, record: dict, profile: dict) -> None:
    out = api.predict_online(model["name"], [record])
    p = out["predictions"][0]
    label = p["prediction"]
    st.markdown(f"### Prediction: {label}")
    st.write(f"Probability of **{label}**: **{p['probability']:.1%}** (model {out['model_name']} version {out['model_version']})")
    if p.get("probabilities"):
        frame = pd.DataFrame([{"class": k, "probability": v} for k, v in p["probabilities"].items()])
        st.altair_chart(
            alt.Chart(frame, height=alt.Step(BAR_STEP), title="Probability of each class").mark_bar().encode(
                x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title=None),
                y=alt.Y("class:N", sort="-x", axis=bar_labels()),
                tooltip=["class:N", alt.Tooltip("probability:Q", format=".1%")],
            ),
            width="stretch",
        )
    notes = caution(record, profile, model.get("inputs") or [])
    if notes:
        st.warning("Treat this prediction with caution: " + "; ".join(notes) + ".", icon=":material/warning:")
    st.session_state[f"scored:{model['name']}"] = {"record": record, "prediction": label, "classes": list(p.get("probabilities") or {})}


def feedback_on_prediction(api, model: dict, target: str | None, profile: dict) -> None:
    """The last record this session scored with `model`, offered as feedback with its true label:
    a wrong prediction is corrected where it was seen, without writing the record again."""
    last = st.session_state.get(f"scored:{model['name']}")
    if not last:
        return
    what = target or "label"
    classes = last["classes"] or target_classes(profile, target)
    with st.form(f"feedback_on:{model['name']}"):
        st.write(f"Was **{last['prediction']}** right? Send the true {what} of the record you scored last: it joins "
                 "the next training that includes feedback.")
        if classes:
            label = st.selectbox(f"True {what}", classes, index=classes.index(last["prediction"]) if last["prediction"] in classes else 0)
        else:
            label = st.text_input(f"True {what}").strip()
        sent = st.form_submit_button("Send as feedback")
    if sent:
        if not label:
            st.error(f"Give the true {what}.", icon=":material/warning:")
            return
        api.feedback(model_name=model["name"], record=last["record"], label=label)
        st.success(f"Feedback stored: true {what} **{label}** for the record you scored last.", icon=":material/check:")


# -- a whole data set -------------------------------------------------------------------------
def batch_section(api, model: dict, datasets: list[dict]) -> None:
    if not datasets:
        st.info("Upload a data set on **Data** to score it.")
        return
    fitting = scoreable(model, datasets)
    if not fitting:
        st.info(f"No data set holds the columns {model['name']} needs. Upload one with them on **Data**.")
        return
    if left_out := len(datasets) - len(fitting):
        st.caption(f"Offered: the {len(fitting):,} data sets that hold every column {model['name']} needs "
                   f"({left_out:,} {'other lacks' if left_out == 1 else 'others lack'} some).")
    ds = pick_dataset(fitting, "Data set to score", key="batch_dataset")
    if st.button("Score data set", type="primary"):
        job = api.predict(model_name=model["name"], dataset_id=ds["id"])
        st.query_params["batch_job"] = job["id"]
        st.rerun()
    if job_id := st.query_params.get("batch_job"):
        follow_job(api, job_id, show_batch_result)


def scoreable(model: dict, datasets: list[dict]) -> list[dict]:
    """The data sets holding every input column of the model (the API refuses the others)."""
    inputs = {c["name"] for c in model.get("inputs") or []}
    return [d for d in datasets if inputs <= {c["name"] for c in d["columns"]}]


def show_batch_result(job: dict) -> None:
    cache = st.session_state.setdefault("result_csv", {})
    if job["id"] not in cache:  # downloaded once per job, not on every rerun
        try:
            cache[job["id"]] = client().result_csv(job["id"])
        except ApiError as exc:
            st.error(str(exc))
            return
    data = cache[job["id"]]
    frame = pd.read_csv(io.BytesIO(data))
    r = job["result"]
    st.success(f"Scored **{len(frame):,} rows** with {r['model_name']} version {r['model_version']}.")
    if r.get("labelled_rows"):
        st.info(f"The data set holds **{r['target']}**, the column the model predicts: the prediction is its value in "
                f"**{r['agreement']:.1%}** of the {r['labelled_rows']:,} rows that have one.", icon=":material/fact_check:")
    counts = frame["prediction"].astype(str).value_counts().rename_axis("class").reset_index(name="rows")
    left, right = st.columns([1, 2])
    left.altair_chart(
        alt.Chart(counts, height=180, title="Predicted classes").mark_arc(innerRadius=40).encode(
            theta="rows:Q", color=alt.Color("class:N"), tooltip=["class:N", "rows:Q"]
        ),
        width="stretch",
    )
    right.altair_chart(
        alt.Chart(frame, height=180, title="Confidence of the predictions").mark_bar().encode(
            x=alt.X("probability:Q", bin=alt.Bin(maxbins=20), axis=alt.Axis(format="%")),
            y=alt.Y("count():Q", title="rows"),
            color=alt.Color("prediction:N"),
        ),
        width="stretch",
    )
    st.dataframe(frame.head(20), hide_index=True)
    st.download_button("Download all predictions (CSV)", data, file_name=f"predictions-{job['id']}.csv", mime="text/csv")
