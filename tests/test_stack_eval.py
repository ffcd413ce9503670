"""benchmarks/stack_eval.py runs every shipped stack, Docker and Kubernetes, and its startup
critical path is made of the waits the program really registers (checked against the catalog)."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from infra.assembly import offline_catalog
from infra.diagram import stack_config
from infra.targets.kubernetes import plan

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "stack_eval.py"
SHIPPED = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))


def _load():
    spec = importlib.util.spec_from_file_location("stack_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


stack_eval = _load()


@pytest.fixture(scope="module")
def runs():
    return {stack: stack_eval.run_program(stack) for stack in SHIPPED}


def target(stack: str) -> str:
    return offline_catalog(stack, stack_config(stack))[0].target


def test_both_targets_are_shipped():
    assert {target(s) for s in SHIPPED} == {"docker", "kubernetes"}


def test_by_default_it_evaluates_every_shipped_stack():
    assert stack_eval.arguments([]).stacks == SHIPPED


def test_the_command_prints_a_line_for_every_shipped_stack():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "1"], capture_output=True, text=True, cwd=REPO, timeout=600
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for stack in SHIPPED:
        (line,) = [l for l in lines if l.split()[:2] == [stack, target(stack)]]
        resources, waits = line.split()[4:6]
        assert int(resources) > 0 and int(waits) > 0, line


@pytest.mark.parametrize("stack", [s for s in SHIPPED if target(s) == "docker"])
def test_docker_links_are_the_catalogs_dependencies_and_wait_where_the_upstream_has_a_healthcheck(stack, runs):
    _, catalog = offline_catalog(stack, stack_config(stack))
    expected = {
        (dep.service, spec.name): stack_eval.Link(
            dep.service,
            spec.name,
            waits=catalog.services[dep.service].healthcheck is not None or catalog.services[dep.service].bootstrap is not None,
            bootstrap=catalog.services[dep.service].bootstrap is not None,
        )
        for spec in catalog.services.values()
        for dep in spec.depends_on
    }
    for spec in catalog.services.values():  # a migration waits for its fresh backup, and the service for both
        if spec.migration and spec.migration.backup:
            expected[(spec.migration.backup.service, spec.name)] = stack_eval.Link(spec.migration.backup.service, spec.name, True, False)
    assert stack_eval.startup_links(runs[stack]) == expected


@pytest.mark.parametrize("stack", [s for s in SHIPPED if target(s) == "kubernetes"])
def test_kubernetes_links_are_the_rendered_dependencies_and_all_wait_for_readiness(stack, runs):
    _, catalog = offline_catalog(stack, stack_config(stack))
    expected = {
        (dep, name): stack_eval.Link(dep, name, waits=True, bootstrap=plan.bootstrap_job_of(catalog.services[dep]) is not None)
        for name in plan.rendered(catalog)
        for dep in plan.dependencies(catalog, name)
    }
    assert expected and stack_eval.startup_links(runs[stack]) == expected


def _chains(links):
    """Every chain of links, by brute force (the graphs are small)."""
    after = {}
    for link in links.values():
        after.setdefault(link.upstream, []).append(link)
    def extend(chain):
        yield chain
        for nxt in after.get(chain[-1].downstream, []):
            yield from extend([*chain, nxt])
    return [c for link in links.values() for c in extend([link])]


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_critical_path_is_a_chain_with_the_most_waits_then_bootstraps_then_links(stack, runs):
    links = stack_eval.startup_links(runs[stack])
    path = stack_eval.critical_path(links)
    assert all(a.downstream == b.upstream for a, b in itertools.pairwise(path))
    assert all(links[(l.upstream, l.downstream)] == l for l in path)
    def rank(chain):
        return sum(l.waits for l in chain), sum(l.bootstrap for l in chain), len(chain)

    assert rank(path) == rank(max(_chains(links), key=rank))


def test_the_path_shows_waits_and_bootstraps():
    links = [
        stack_eval.Link("a", "b", waits=True, bootstrap=False),
        stack_eval.Link("b", "c", waits=False, bootstrap=False),
        stack_eval.Link("c", "d", waits=True, bootstrap=True),
    ]
    assert stack_eval.format_path(links) == "a ==> b -> c+bootstrap ==> d"
