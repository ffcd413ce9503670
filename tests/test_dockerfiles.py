"""Every image we build lints clean, runs as a non-root user and declares a HEALTHCHECK."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted(REPO.glob("app/*/Dockerfile"))
HADOLINT = str(Path(sys.executable).parent / "hadolint")


def test_there_is_a_dockerfile_per_image():
    assert {p.parent.name for p in DOCKERFILES} == {"api", "processor", "ui", "mlflow", "postgres"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile):
    result = subprocess.run([HADOLINT, "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_runs_as_non_root(dockerfile):
    users = re.findall(r"^USER\s+(\S+)", dockerfile.read_text(), re.M)
    assert users and users[-1] not in ("root", "0")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_has_a_healthcheck(dockerfile):
    assert re.search(r"^HEALTHCHECK\s+.*CMD", dockerfile.read_text(), re.M | re.S)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_image_is_pinned(dockerfile):
    base = re.search(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M).group(1)
    assert ":" in base and not base.endswith(":latest")
