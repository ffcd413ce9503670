"""Widgets the pages share: inline errors, data-set labels, charts, job progress."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import altair as alt
import pandas as pd
import streamlit as st

from pipeline_ui.client import FINISHED, ApiClient, ApiError, first_sentence
from pipeline_ui.lineage import training_source, with_champion

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/autorenew:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/cancel:",
}


def client() -> ApiClient:
    return ApiClient()


@contextmanager
def inline_errors() -> Iterator[None]:
    """An API error becomes a message where it happened; the rest of the page stays."""
    try:
        yield
    except ApiError as exc:
        st.error(str(exc), icon=":material/error:")


def moment(value) -> datetime | None:
    """A time the API gives as an ISO string, or MLflow as epoch milliseconds; None if unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def when(value) -> str:
    """'2026-11-29 01:40' (see `moment`); '' if unknown."""
    found = moment(value)
    return found.strftime("%Y-%m-%d %H:%M") if found else ""


def plain_number(value, digits: int = 4) -> str:
    """A number for people: at least `digits` significant digits, no exponent (1,484,705 rather than
    1.4847e+06; 0.01235 rather than 1.235e-02), thousands grouped from 10,000 (a year stays 2007);
    '-0' never shows."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value)))) if value else 0
    text = f"{value:{',' if abs(value) >= 10_000 else ''}.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text.strip("-0.,") == "" else text


def dataset_label(ds: dict) -> str:
    return f"{ds['name']} · {ds['rows']:,} rows × {len(ds['columns'])} columns · {when(ds.get('created_at'))}".rstrip(" ·")


def profile_of(api: ApiClient, dataset_id: str) -> dict:
    """A data set's profile, fetched once per session (a data set never changes once uploaded)."""
    cache = st.session_state.setdefault("profiles", {})
    if dataset_id not in cache:
        cache[dataset_id] = api.profile(dataset_id)
    return cache[dataset_id]


def target_classes(profile: dict, target: str | None) -> list[str]:
    """The classes the training data holds in `target` (the profile's values of that column)."""
    return [v["value"] for v in (profile.get(target) or {}).get("top_values") or []]


def pick_dataset(datasets: list[dict], label: str, key: str, prefer: str | None = None) -> dict:
    ids = [d["id"] for d in datasets]
    index = ids.index(prefer) if prefer in ids else 0
    chosen = st.selectbox(label, ids, index=index, key=key, format_func=lambda i: dataset_label(datasets[ids.index(i)]))
    return datasets[ids.index(chosen)]


# -- charts ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelChoice:
    """A model picked in a page, with the data set its champion was trained on (when known)."""

    model: dict
    source: dict | None
    target: str | None
    profile: dict[str, dict]  # the source's column profiles by name
    datasets: list[dict]


def pick_model(api: ApiClient, key: str, none_yet: str) -> ModelChoice | None:
    """A `Model` selectbox over the models that have a champion; says `none_yet` if none has one."""
    models = with_champion(api.models())
    if not models:
        st.info(none_yet)
        return None
    datasets = api.datasets()
    names = [m["name"] for m in models]
    model = models[names.index(st.selectbox("Model", names, key=key))]
    source, target = training_source(model, datasets)
    profile = {c["name"]: c for c in api.profile(source["id"])["columns"]} if source else {}
    return ModelChoice(model, source, target, profile, datasets)


def histogram_chart(col: dict, height: int = 140) -> alt.Chart:
    h = col["histogram"]
    frame = pd.DataFrame({"from": h["edges"][:-1], "to": h["edges"][1:], "rows": h["counts"]})
    return (
        alt.Chart(frame, height=height, title=col["name"])
        .mark_bar()
        .encode(
            x=alt.X("from:Q", bin="binned", title=None),
            x2="to:Q",
            y=alt.Y("rows:Q", title="rows"),
            tooltip=["from:Q", "to:Q", "rows:Q"],
        )
    )


#: Room per bar of a horizontal bar chart: its label never collides with the next one.
BAR_STEP = 24


def bar_labels(title: str | None = None) -> alt.Axis:
    """The category axis of a horizontal bar chart: every label drawn, long names kept. Streamlit's chart
    theme (static/js/CustomTheme.*.js in streamlit 1.67.0) sets labelOverlap: true, which hides every
    other label at the slightest overlap, and labelLimit: 100 px, which cuts column names short."""
    return alt.Axis(title=title, labelOverlap=False, labelLimit=320)


def counts_chart(values: list[dict], title: str, limit: int = 12) -> alt.Chart:
    frame = pd.DataFrame(values[:limit])
    return (
        alt.Chart(frame, height=alt.Step(BAR_STEP), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("value:N", sort="-x", axis=bar_labels()),
            x=alt.X("count:Q", title="rows"),
            tooltip=["value:N", "count:Q"],
        )
    )


def column_chart(col: dict) -> alt.Chart | None:
    if col.get("histogram") and col["distinct"] > 12:
        return histogram_chart(col)
    if col.get("top_values"):
        return counts_chart(col["top_values"], col["name"])
    return None


def metrics_chart(frame: pd.DataFrame, series: str, title: str) -> alt.Chart:
    """Bars of accuracy/F1/ROC AUC per `series` (e.g. new model vs champion), on a 0..1 scale."""
    return (
        alt.Chart(frame, height=220, title=title)
        .mark_bar()
        .encode(
            x=alt.X("metric:N", title=None),
            xOffset=f"{series}:N",
            y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title=None),
            color=alt.Color(f"{series}:N", title=None),
            tooltip=[f"{series}:N", "metric:N", alt.Tooltip("value:Q", format=".3f")],
        )
    )


METRIC_NAMES = {"accuracy": "Accuracy", "f1": "F1", "roc_auc": "ROC AUC"}


def metrics_frame(rows: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"series": series, "metric": METRIC_NAMES.get(k, k), "value": v}
            for series, metrics in rows.items()
            for k, v in (metrics or {}).items()
            if k in METRIC_NAMES and v == v
        ]
    )


SCORE_NAMES = {"roc_auc": "ROC AUC", "roc_auc_ovr": "ROC AUC", "accuracy": "accuracy"}


def confusion_chart(cm: dict, title: str = "Confusion matrix: held-out rows by true and predicted class") -> alt.LayerChart:
    """A heatmap of `counts[true][predicted]` with each count written in its cell."""
    labels = cm["labels"]
    frame = pd.DataFrame(
        [{"true": t, "predicted": p, "rows": n} for t, row in zip(labels, cm["counts"]) for p, n in zip(labels, row)]
    )
    side = min(420, 80 + 50 * len(labels))
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=labels, title="predicted class", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:N", sort=labels, title="true class"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("rows:Q", title="rows", scale=alt.Scale(scheme="blues")),
        tooltip=["true:N", "predicted:N", "rows:Q"],
    )
    middle = max(frame["rows"].max(), 1) / 2
    counts = base.mark_text(fontSize=13).encode(
        text=alt.Text("rows:Q", format=","),
        color=alt.condition(alt.datum.rows > middle, alt.value("white"), alt.value("black")),
    )
    return (cells + counts).properties(title=title, height=side)


def roc_chart(curves: list[dict], title: str = "ROC curve: true positive rate against false positive rate") -> alt.LayerChart:
    """One line per class (its AUC in the legend) over the dashed diagonal a random guess draws."""
    frame = pd.DataFrame(
        [
            {"class": f"{c['label']} (AUC {c['auc']:.3f})" if c.get("auc") is not None else c["label"], "fpr": x, "tpr": y, "step": i}
            for c in curves
            for i, (x, y) in enumerate(zip(c["fpr"], c["tpr"]))
        ]
    )
    unit = alt.Scale(domain=[0, 1])
    lines = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("fpr:Q", scale=unit, title="false positive rate"),
            y=alt.Y("tpr:Q", scale=unit, title="true positive rate"),
            order="step:Q",
            color=alt.Color("class:N", title=None, legend=alt.Legend(orient="bottom-right")),
            tooltip=["class:N", alt.Tooltip("fpr:Q", format=".3f"), alt.Tooltip("tpr:Q", format=".3f")],
        )
    )
    chance = (
        alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]}))
        .mark_line(color="gray", strokeDash=[4, 4])
        .encode(x="fpr:Q", y="tpr:Q")
    )
    return (chance + lines).properties(title=title, height=320)


def importance_chart(importance: dict, limit: int = 15, title: str = "Which columns matter most (top 15)") -> alt.Chart:
    """Bars of how much the score drops when a column's values are shuffled, the largest first."""
    frame = pd.DataFrame(importance["features"][:limit])
    score = SCORE_NAMES.get(importance.get("scoring"), importance.get("scoring") or "score")
    return (
        alt.Chart(frame, height=alt.Step(BAR_STEP), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("feature:N", sort="-x", axis=bar_labels()),
            x=alt.X("importance:Q", title=f"drop in {score} when the column is shuffled"),
            tooltip=["feature:N", alt.Tooltip("importance:Q", format=".4f"), alt.Tooltip("std:Q", format=".4f")],
        )
    )


# -- jobs --------------------------------------------------------------------------------
#: How a job's state reads in a sentence ("Training job 1a2b3c4d succeeded", never "is succeeded").
STATUS_WORDS = {"queued": "is waiting for a worker", "running": "is running", "succeeded": "succeeded", "failed": "failed"}


def duration(seconds: float) -> str:
    """'8 s', '2 min 05 s', '1 h 02 min'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def elapsed(job: dict, now: datetime | None = None) -> str:
    """Time since the job was submitted, up to its end once it has finished."""
    start = moment(job.get("created_at"))
    end = moment(job.get("finished_at")) or now or datetime.now(timezone.utc)
    return duration((end - start).total_seconds()) if start else ""


#: The steps a worker goes through, in order (data_processor: `enter(job, ...)` in jobs.py for a
#: training, scoring.py for a data set; a test reads them there).
STEPS = {
    "training": ["loading", "fitting", "logging", "registering", "promoting"],
    "prediction": ["loading", "scoring"],
}


def step_count(job: dict) -> tuple[int, int]:
    """(the step the job is at, counted from 1, or 0 while it waits or names no step; its kind's steps)."""
    steps = STEPS.get(job["kind"], [])
    step = job.get("step")
    return (steps.index(step) + 1 if step in steps else 0), len(steps)


def step_name(job: dict) -> str:
    """What the job is doing: the worker's step when the API reports one, else what its state means."""
    if step := job.get("step"):
        return str(step).replace("_", " ")
    if job["status"] == "queued":
        return "waiting for a worker"
    return "training the model" if job["kind"] == "training" else "scoring the records"


def status_line(job: dict) -> str:
    icon = STATUS_ICONS.get(job["status"], "")
    spent = elapsed(job) if job["status"] in FINISHED else ""
    took = f" after {spent}" if spent else ""
    return (
        f"{icon} {job['kind'].capitalize()} job `{job['id'][:8]}` {STATUS_WORDS.get(job['status'], job['status'])}{took} "
        f"(started {when(job['created_at'])} UTC)"
    )


def follow_job(api: ApiClient, job_id: str, show_result: Callable[[dict], None]) -> None:
    """The job's state, refreshed by itself until it finishes; then `show_result` draws the outcome once."""
    job = api.job(job_id)
    if job["status"] in FINISHED:
        st.markdown(status_line(job))
        if job["status"] == "failed":
            st.error(f"The job failed: {first_sentence(job['error'])}", icon=":material/cancel:")
        else:
            show_result(job)
        return
    _poll(api, job_id)


@st.fragment(run_every=1.5)
def _poll(api: ApiClient, job_id: str) -> None:
    with inline_errors():
        job = api.job(job_id)
        if job["status"] in FINISHED:
            st.rerun()  # the whole page draws the finished job
        st.markdown(status_line(job))
        done, steps = step_count(job)
        where = f"step {done} of {steps}: **{step_name(job)}**" if done else f"**{step_name(job)}**"
        st.progress(done / (steps + 1), text=f"{where[:1].upper()}{where[1:]} · {elapsed(job)} elapsed · this view updates itself")
