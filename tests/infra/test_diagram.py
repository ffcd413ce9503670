"""The README's deployment diagram is the one the catalog generates for the production stack file."""

from pathlib import Path

import pytest

from infra.catalog import offline_catalog
from infra.diagram import block, mermaid, stack_config

README = Path(__file__).resolve().parents[2] / "README.md"
STACKS = ("dev", "staging", "production")


def test_readme_diagram_matches_the_production_stack():
    assert block("production") in README.read_text(), "run `python -m infra.diagram --write`"


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_shows_every_public_host_of_the_stack(stack):
    settings, catalog = offline_catalog(stack, stack_config(stack))
    text = mermaid(stack)
    for name in catalog.public():
        assert f"|{settings.public_hosts[name]}| {name}" in text, name


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_shows_the_stacks_processor_replicas(stack):
    replicas = stack_config(stack)["processorReplicas"]
    text = mermaid(stack)
    assert (f"processor[processor x{replicas}]" if replicas > 1 else "processor[processor]") in text


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_shows_every_dependency_with_its_kind(stack):
    _, catalog = offline_catalog(stack, stack_config(stack))
    text = mermaid(stack).splitlines()
    for spec in catalog.services.values():
        for dep in spec.depends_on:
            arrow = "==>" if dep.healthy else "-->"
            assert f"  {dep.service.replace('-', '_')} {arrow} {spec.name.replace('-', '_')}" in text


def test_stacks_with_different_replicas_draw_different_diagrams():
    assert stack_config("staging")["processorReplicas"] != stack_config("production")["processorReplicas"]
    assert mermaid("staging") != mermaid("production")
