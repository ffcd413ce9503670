"""README and docs/ claims that follow from the tree: config keys, benchmark commands, removed keys,
the generated diagrams, and links that lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from infra.settings import PlatformSettings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
DOCS = {p.name: p.read_text() for p in sorted((REPO / "docs").glob("*.md"))}


def headings(text: str) -> list[tuple[int, int, str]]:
    """(line number, level, title) of every Markdown heading outside code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines()):
        fenced ^= line.startswith("```")
        if not fenced and (m := re.match(r"(#+) (.+)$", line)):
            out.append((number, len(m[1]), m[2]))
    return out


def section(text: str, heading: str) -> str:
    """From `heading` (a whole line, e.g. "## Deployment") to the next heading of its level or higher."""
    lines = text.splitlines(keepends=True)
    marks, (level, title) = headings(text), heading.split(" ", 1)
    start = next(n for n, lvl, t in marks if (lvl, t) == (len(level), title))
    end = next((n for n, lvl, _ in marks if n > start and lvl <= len(level)), len(lines))
    return "".join(lines[start:end])


def test_readme_is_a_front_door_of_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_readme_keeps_the_two_set_up_commands():
    assert "```sh\npulumi install && pulumi stack select --create dev && pulumi up --stack dev\n```" in README
    assert "```sh\nmake test" in section(README, "## Set-up: the two commands")


def test_readme_links_every_doc():
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)(?:#[\w-]+)?\)", README))
    assert linked == set(DOCS)


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") for _, _, title in headings(text)}


def test_every_relative_link_in_readme_and_docs_leads_to_a_file_and_heading():
    pages = {REPO / "README.md": README, **{REPO / "docs" / name: text for name, text in DOCS.items()}}
    for page, text in pages.items():
        for target, anchor in re.findall(r"\]\(([^)#:\s]*)(?:#([\w-]+))?\)", text):
            path = (page.parent / target).resolve() if target else page
            assert path.exists(), f"{page.name}: {target}"
            if anchor:
                assert anchor in _anchors(path.read_text()), f"{page.name}: {target}#{anchor}"


def test_every_stack_config_key_is_documented():
    keys = set(PlatformSettings.model_fields) - {"stack", "docker_host"}
    table = section(DOCS["deploying.md"], "## Stack config keys")
    for key in keys:
        assert f"`{key}" in table, key


def test_every_benchmark_command_names_an_existing_script_and_a_csv_path():
    commands = re.findall(r"^\S*\.venv/bin/python (benchmarks/\S+\.py)(.*)$", DOCS["benchmarks.md"], re.M)
    assert {c for c, _ in commands} == {p.relative_to(REPO).as_posix() for p in (REPO / "benchmarks").glob("*.py")}
    for script, rest in commands:
        if script not in ("benchmarks/stack_eval.py", "benchmarks/restore.py"):  # they need no data set
            assert "adult.csv" in rest, script


def test_benchmarks_default_to_no_path_outside_the_repository():
    for name in ("model_quality.py", "stack_eval.py"):
        assert "ROOT.parent" not in (REPO / "benchmarks" / name).read_text(), name


def test_removed_and_internal_keys_are_not_documented_as_config():
    for name, text in {"README.md": README, **DOCS}.items():
        assert "dockerHost" not in text, name
    assert "policy/requirements.txt" in DOCS["deploying.md"] and (REPO / "policy" / "requirements.txt").is_file()


def test_model_quality_benchmark_refuses_to_run_without_a_named_csv():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MLOPS_BENCHMARK_CSV"}
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "model_quality.py")], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 2 and "name the CSV" in result.stderr, result.stderr


def test_each_generated_diagram_is_current_and_in_its_section():
    from infra.diagram import BEGIN, END, K8S_BEGIN, K8S_END, kubernetes_doc_text, readme_text

    k8s = DOCS["kubernetes.md"]
    for marker in (BEGIN, END):
        assert README.count(marker) == 1 and marker not in k8s, marker
    for marker in (K8S_BEGIN, K8S_END):
        assert k8s.count(marker) == 1 and marker not in README, marker
    assert readme_text(README) == README, "run `python -m infra.diagram --write`"
    assert kubernetes_doc_text(k8s) == k8s, "run `python -m infra.diagram --write`"
    deployment = section(README, "## Deployment")
    assert BEGIN in deployment and END in deployment
    assert k8s.index(K8S_BEGIN) < k8s.index("## Prerequisites")  # under the title, before the details


def test_kubernetes_doc_names_the_two_commands_and_no_longer_says_in_progress():
    commands = section(DOCS["kubernetes.md"], "## The two commands")
    assert "pulumi stack select --create k8s-staging" in commands and "pulumi up --stack k8s-staging" in commands
    assert "pulumi config set kubernetes:context" in commands
    for name, text in {"README.md": README, **DOCS}.items():
        assert "(in progress)" not in text, name
