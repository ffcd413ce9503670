"""README claims that follow from the tree: config keys, benchmark commands, removed keys."""

from __future__ import annotations

import re
from pathlib import Path

from infra.settings import PlatformSettings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_every_stack_config_key_is_documented():
    keys = set(PlatformSettings.model_fields) - {"stack", "docker_host"}
    table = README[README.index("Stack config keys") :]
    for key in keys:
        assert f"`{key}" in table, key


def test_every_benchmark_command_names_an_existing_script_and_a_csv_path():
    commands = re.findall(r"^\S*\.venv/bin/python (benchmarks/\S+\.py)(.*)$", README, re.M)
    assert {c for c, _ in commands} == {p.relative_to(REPO).as_posix() for p in (REPO / "benchmarks").glob("*.py")}
    for script, rest in commands:
        if script not in ("benchmarks/stack_eval.py", "benchmarks/restore.py"):  # they need no data set
            assert "adult.csv" in rest, script


def test_benchmarks_default_to_no_path_outside_the_repository():
    for name in ("model_quality.py", "stack_eval.py"):
        assert "ROOT.parent" not in (REPO / "benchmarks" / name).read_text(), name


def test_removed_and_internal_keys_are_not_documented_as_config():
    assert "dockerHost" not in README
    assert "policy/requirements.txt" in README and (REPO / "policy" / "requirements.txt").is_file()


def test_model_quality_benchmark_refuses_to_run_without_a_named_csv():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MLOPS_BENCHMARK_CSV"}
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "model_quality.py")], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 2 and "name the CSV" in result.stderr, result.stderr


def test_both_generated_diagrams_are_current_and_each_in_its_section():
    from infra.diagram import BEGIN, END, K8S_BEGIN, K8S_END, readme_text

    for marker in (BEGIN, END, K8S_BEGIN, K8S_END):
        assert README.count(marker) == 1, marker
    assert readme_text(README) == README, "run `python -m infra.diagram --write`"
    deployment = README[README.index("## Deployment") : README.index("### Deploying a server stack")]
    assert BEGIN in deployment and END in deployment
    k8s = README.index("### Kubernetes target\n")
    k8s_section = README[k8s : README.index("\n### ", k8s + 1)]
    assert K8S_BEGIN in k8s_section and K8S_END in k8s_section


def test_kubernetes_section_names_the_two_commands_and_no_longer_says_in_progress():
    k8s = README.index("### Kubernetes target\n")
    section = README[k8s : README.index("\n### ", k8s + 1)]
    assert "pulumi stack select --create k8s-staging" in section and "pulumi up --stack k8s-staging" in section
    assert "pulumi config set kubernetes:context" in section
    assert "(in progress)" not in README
