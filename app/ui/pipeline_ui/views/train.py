"""Train: pick a data set and a target the profile says is fit, follow the job, see its metrics."""

from __future__ import annotations

import re

import streamlit as st

from pipeline_ui.widgets import (
    client,
    confusion_chart,
    counts_chart,
    follow_job,
    importance_chart,
    inline_errors,
    metrics_chart,
    metrics_frame,
    pick_dataset,
    profile_of,
    roc_chart,
)

NEW_MODEL = "New model…"
#: Words that name the column to predict; a class column whose name holds one of them is the default target.
LABEL_WORDS = {"target", "label", "labels", "class", "classes", "outcome", "result", "diagnosis", "y"}
#: How many of the newest data sets are looked at for one that can train (one profile call each).
TRAINABLE_LOOKAHEAD = 8
DEFAULT_NEW_NAME = "tabular-classifier"


def render() -> None:
    api = client()
    st.header("2 · Train")
    st.write("Choose a data set and the column to predict. Each training adds a version to a model; "
             "the new version becomes the **champion** (the one that predicts) only if it scores better.")
    with inline_errors():
        datasets = api.datasets()
        if not datasets:
            st.info("Upload a data set on **Data** first.")
        else:
            training_form(api, datasets)
    if job_id := st.query_params.get("train_job"):
        st.subheader("Training job")
        with inline_errors():
            follow_job(api, job_id, show_training_result)


def training_form(api, datasets: list[dict]) -> None:
    prefer = trainable_dataset(api, datasets, st.session_state.get("uploaded"))
    ds = pick_dataset(datasets, "Data set", key="train_dataset", prefer=prefer)
    profile = {c["name"]: c for c in profile_of(api, ds["id"])["columns"]}
    names = list(profile)
    default = default_target(list(profile.values()))
    target = st.selectbox("Column to predict (target)", names, index=names.index(default), key=f"target_{ds['id']}")
    problem = profile[target]["target_problem"]
    if problem:
        st.error(f"**{target}** cannot be a target: {problem}.", icon=":material/block:")
    else:
        st.altair_chart(counts_chart(profile[target]["top_values"], f"Classes of {target}"), width="stretch")
    model_name = pick_model_name(api)
    optimize = st.checkbox("Search hyper-parameters (slower, often better)")
    feedback = st.checkbox("Include collected feedback")
    disabled = bool(problem) or not model_name
    if st.button("Start training", type="primary", disabled=disabled):
        job = api.train(dataset_id=ds["id"], target=target, model_name=model_name, optimize=optimize, include_feedback=feedback)
        st.query_params["train_job"] = job["id"]  # in the address: a reload keeps following it
        st.rerun()


def is_file_to_score(ds: dict, datasets: list[dict]) -> bool:
    """Its columns are a strict part of another data set's: the inputs without the column to predict."""
    mine = {c["name"] for c in ds["columns"]}
    return any(mine < {c["name"] for c in other["columns"]} for other in datasets if other["id"] != ds["id"])


def trainable_dataset(api, datasets: list[dict], uploaded: str | None) -> str:
    """The data set the form starts on: the one just uploaded, else the newest, passing over files to
    score and data sets without any column a classifier could predict."""
    order = sorted(datasets, key=lambda d: d["id"] != uploaded)  # stable: newest first otherwise
    for ds in order[:TRAINABLE_LOOKAHEAD]:
        if is_file_to_score(ds, datasets):
            continue
        if any(c["target_problem"] is None for c in profile_of(api, ds["id"])["columns"]):
            return ds["id"]
    return order[0]["id"]


def default_target(columns: list[dict]) -> str:
    """A column the profile accepts as a target: one named like a label first, then a category over a
    number, a complete column over one with gaps, the last column, then the first (where data sets put
    their class)."""
    fit = [c for c in columns if c["target_problem"] is None]
    if not fit:
        return columns[-1]["name"]
    first, last = columns[0]["name"], columns[-1]["name"]

    def rank(c: dict) -> tuple:
        words = set(re.split(r"[^a-z0-9]+", c["name"].lower()))
        return (bool(words & LABEL_WORDS), c["kind"] in ("categorical", "boolean"), not c["missing"], c["name"] == last, c["name"] == first)

    return max(fit, key=rank)["name"]


def pick_model_name(api) -> str | None:
    """An existing model by default (training adds a version); a new one only on purpose."""
    models = [m for m in api.models() if m.get("versions")]  # an empty model (a failed first training) is no choice
    existing = [m["name"] for m in models]
    if not existing:
        return st.text_input("New model name", value=DEFAULT_NEW_NAME).strip() or None
    # The model worked on last comes first: a second click adds a version to it.
    latest = max(models, key=lambda m: max((str(v.get("created_at") or "") for v in m["versions"]), default=""))["name"]
    choice = st.selectbox(
        "Model", [*existing, NEW_MODEL], index=existing.index(latest), help="Training adds a new version to the chosen model."
    )
    if choice != NEW_MODEL:
        return choice
    name = st.text_input("New model name", placeholder="letters, digits, . _ -").strip()
    if name in existing:
        st.warning(f"A model named {name} exists; training adds a version to it.")
    return name or None


def show_training_result(job: dict) -> None:
    r = job["result"]
    verdict = "is now the **champion**" if r["champion"] else "did not beat the champion, which stays in place"
    st.success(f"Model **{r['model_name']}** version **{r['model_version']}** {verdict}.")
    old = r.get("previous_champion_metrics") or {}
    cols = st.columns(3)
    for slot, (key, label) in zip(cols, (("accuracy", "Accuracy"), ("f1", "F1"), ("roc_auc", "ROC AUC"))):
        value = r["metrics"].get(key)
        delta = metric_delta(value, old.get(key))
        slot.metric(label, f"{value:.3f}" if value == value else "—", delta=delta)
    series = {f"version {r['model_version']}": r["metrics"]}
    if old:
        series["previous champion"] = old
    st.altair_chart(metrics_chart(metrics_frame(series), "series", "Held-out test metrics (higher is better)"), width="stretch")
    if diagnostics := r.get("diagnostics"):  # absent for jobs trained before diagnostics were kept
        show_diagnostics(diagnostics)
    st.caption("Next: **Predict** scores records with the champion.")


def metric_delta(value: float, champion: float | None) -> str | None:
    """'+0.014 vs. champion'; a difference that rounds away reads 'same as champion', never '-0.000'."""
    if champion is None or value != value or champion != champion:
        return None
    change = round(value - champion, 3)
    return "same as champion" if change == 0 else f"{change:+.3f} vs. champion"


def show_diagnostics(d: dict) -> None:
    """Where the model is right and wrong, how it trades hits for false alarms, and what it looks at."""
    left, right = st.columns(2)
    if d.get("confusion_matrix"):
        left.altair_chart(confusion_chart(d["confusion_matrix"]), width="stretch")
    if d.get("roc"):
        right.altair_chart(roc_chart(d["roc"]), width="stretch")
    else:
        right.caption("There is no ROC curve: the held-out rows do not have both sides of any class.")
    if (d.get("feature_importance") or {}).get("features"):
        st.altair_chart(importance_chart(d["feature_importance"]), width="stretch")
        st.caption("Each bar is how much the held-out score drops when that column's values are shuffled: "
                   "the longer the bar, the more the model relies on the column.")
