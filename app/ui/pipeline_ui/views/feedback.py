"""Feedback: the true label of a scored record, for a model that exists, from that model's classes."""

from __future__ import annotations

import json

import streamlit as st

from pipeline_ui.views.predict import example_value
from pipeline_ui.widgets import client, inline_errors, pick_model, target_classes


def render() -> None:
    api = client()
    st.header("Feedback")
    st.write("Tell the model the true label of a record it scored; it joins the next training that includes feedback.")
    with inline_errors():
        choice = pick_model(api, "feedback_model", "Feedback needs a trained model: train one on **Train** first.")
        if choice is None:
            return
        model, target, profile = choice.model, choice.target, choice.profile
        classes = target_classes(profile, target)
        template = {c["name"]: example_value(c, profile.get(c["name"])) for c in model.get("inputs") or []}
        with st.form(f"feedback:{model['name']}"):
            raw = st.text_area("Record (JSON object; edit the template)", value=json.dumps(template, indent=1), height=240)
            if classes:
                label = st.selectbox(f"True {target}", classes)
            else:
                label = st.text_input("True label").strip()
            sent = st.form_submit_button("Send feedback", type="primary")
            result = st.container()
        if sent:
            with result, inline_errors():
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as exc:
                    st.error(f"The record is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")
                    return
                if not isinstance(record, dict) or not record:
                    st.error("The record must be a JSON object with the model's input columns.")
                    return
                if not label:
                    st.error("Give the true label.")
                    return
                api.feedback(model_name=model["name"], record=record, label=label)
                st.success(f"Feedback stored: true {target or 'label'} **{label}** for model {model['name']}.")
