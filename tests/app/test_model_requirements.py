"""Models that run anywhere MLflow runs (issue #26 item 4): a trained model's logged
requirements are stated, not inferred from the trainer's environment: exactly the packages it
needs, each pinned at the processor's version, so rebuilding its environment from them (as
`mlflow models serve --env-manager virtualenv` does) resolves to what the processor runs."""

from pathlib import Path

import mlflow
from packaging.requirements import Requirement

from .services import S3_ENV

REPO = Path(__file__).resolve().parents[2]
MODEL_PACKAGES = {"mlflow-skinny", "numpy", "pandas", "scikit-learn", "scipy", "skops"}


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a requirements file and the files it includes."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        elif line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", line
            found[req.name.lower()] = spec.version
    return found


def logged_requirements(stack, monkeypatch, model: str) -> list[str]:
    for k, v in {**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": stack.s3}.items():
        monkeypatch.setenv(k, v)
    mlflow.set_tracking_uri(stack.mlflow)
    try:
        path = mlflow.pyfunc.get_model_dependencies(f"models:/{model}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def test_a_trained_models_requirements_are_exactly_its_packages_pinned_as_the_processor_pins_them(stack, monkeypatch, read_only_model):
    logged = [Requirement(line) for line in logged_requirements(stack, monkeypatch, read_only_model)]
    assert {r.name.lower() for r in logged} == MODEL_PACKAGES and len(logged) == len(MODEL_PACKAGES)
    processor = pins(REPO / "app" / "processor" / "requirements.txt")
    for r in logged:
        (spec,) = r.specifier
        assert (spec.operator, spec.version) == ("==", processor[r.name.lower()]), str(r)
