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


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, with backslash continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, args = line.strip().partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_has_a_healthcheck(dockerfile):
    checks = [args for keyword, args in instructions(dockerfile) if keyword == "HEALTHCHECK"]
    assert checks, "no HEALTHCHECK"
    assert re.search(r"(^|\s)CMD\s+\S", checks[-1]) and checks[-1].split()[0].upper() != "NONE", checks[-1]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_base_image_is_pinned(dockerfile):
    stages: set[str] = set()
    froms = [args.split() for keyword, args in instructions(dockerfile) if keyword == "FROM"]
    assert froms
    for parts in froms:
        image = next(p for p in parts if not p.startswith("--"))
        if image not in stages:  # a later stage may start FROM an earlier one
            name = image.split("@", 1)[0]
            assert "@sha256:" in image or (":" in name.rsplit("/", 1)[-1] and not name.endswith(":latest")), image
        if "AS" in (p.upper() for p in parts):
            stages.add(parts[-1])


def test_instruction_reader_does_not_let_a_later_cmd_stand_in_for_the_healthcheck(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM python:3.11.14-slim\nHEALTHCHECK NONE\nCMD [\"python\"]\n")
    with pytest.raises(AssertionError):
        test_dockerfile_has_a_healthcheck(df)
