"""Train: pick a data set and a target the profile says is fit, follow the job, see its metrics."""

from __future__ import annotations

import functools
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
DEFAULT_NEW_NAME = "tabular-classifier"  # DEFAULT_MODEL_NAME's default (pipeline_common/config.py)


def render() -> None:
    api = client()
    models = functools.cache(api.models)  # one listing a run, for the model picker and the job's verdict
    st.header("2 · Train")
    st.write("Choose a data set and the column to predict. Each training adds a version to a model; "
             "the new version becomes the **champion** (the one that predicts) only if it scores better.")
    with inline_errors():
        datasets = api.datasets()
        if not datasets:
            st.info("Upload a data set on **Data** first.")
        else:
            training_form(api, datasets, models)
    if job_id := st.query_params.get("train_job"):
        st.subheader("Training job")
        with inline_errors():
            follow_job(api, job_id, lambda job: show_training_result(job, champion_now(models(), job)))


def training_form(api, datasets: list[dict], models) -> None:
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
    model_name = pick_model_name(models(), ds, target)
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


def model_target(model: dict) -> str | None:
    """The column a model predicts: its contract, as its newest version with run params logged it."""
    return next((v["params"]["target"] for v in model.get("versions") or [] if (v.get("params") or {}).get("target")), None)


def fits(model: dict, ds: dict, target: str) -> bool:
    """Training `ds`'s `target` into `model` keeps its contract: the same target from the same input
    columns (the API refuses anything else with 409)."""
    inputs = {c["name"] for c in model.get("inputs") or []}
    columns = {c["name"] for c in ds["columns"]} - {target}
    return model_target(model) == target and (not inputs or inputs == columns)


def new_model_name(ds: dict, target: str, existing: list[str]) -> str:
    """'<data set>-<target>' in the characters a model name allows, numbered past existing names."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{ds['name']}-{target}").strip("-._")[:180] or DEFAULT_NEW_NAME
    name, n = base, 2
    while name in existing:
        name, n = f"{base}-{n}", n + 1
    return name


def last_trained(model: dict) -> str:
    return max((str(v.get("created_at") or "") for v in model["versions"]), default="")


def pick_model_name(listed: list[dict], ds: dict, target: str) -> str | None:
    """A model this data set and target fit by default (training adds a version); "New model…" when
    none does, so a training never lands in a model that predicts something else."""
    models = [m for m in listed if m.get("versions")]  # an empty model (a failed first training) is no choice
    existing = [m["name"] for m in models]
    if not existing:  # the first model takes the name the API predicts with when a request names none
        return st.text_input("New model name", value=DEFAULT_NEW_NAME).strip() or None
    suggested = new_model_name(ds, target, existing)
    fitting = [m for m in models if fits(m, ds, target)]
    # The fitting model worked on last comes first: a second click adds a version to it.
    default = existing.index(max(fitting, key=last_trained)["name"]) if fitting else len(existing)
    choice = st.selectbox(
        "Model", [*existing, NEW_MODEL], index=default, help="Training adds a new version to the chosen model."
    )
    if choice != NEW_MODEL:
        chosen = models[existing.index(choice)]
        if model_target(chosen) is not None and chosen not in fitting:
            st.warning(f"**{choice}** predicts **{model_target(chosen)}** from other columns: training this into it "
                       "will be refused. Choose a model that fits, or a new one.", icon=":material/warning:")
        return choice
    if not fitting:
        st.caption(f"No model predicts **{target}** from these columns yet: the training makes a new one.")
    name = st.text_input("New model name", value=suggested, placeholder="letters, digits, . _ -").strip()
    if name in existing:
        st.warning(f"A model named {name} exists; training adds a version to it.")
    return name or None


def champion_now(models: list[dict], job: dict) -> str | None:
    """The trained model's champion version today (a job's page may be opened long after it ran)."""
    name = (job.get("result") or {}).get("model_name")
    model = next((m for m in models if m["name"] == name), None)
    return (model or {}).get("aliases", {}).get("champion")


def show_training_result(job: dict, champion: str | None = None) -> None:
    """The job's outcome; `champion`, the model's champion today, dates a verdict that no longer holds."""
    r = job["result"]
    if r["champion"] and champion not in (None, str(r["model_version"])):
        verdict = f"became the champion when it was trained; version **{champion}** has replaced it since"
    elif r["champion"]:
        verdict = "is now the **champion**"
    else:
        verdict = "did not beat the champion, which stays in place"
    st.success(f"Model **{r['model_name']}** version **{r['model_version']}** {verdict}.")
    if "feedback_rows" in r:
        n = r["feedback_rows"]
        st.caption(f"{n:,} feedback record{'' if n == 1 else 's'} joined the training data." if n else "No feedback was stored for this model yet.")
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
