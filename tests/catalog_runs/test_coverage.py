"""Nothing in a shipped stack's catalog escapes this layer unnoticed: every service either runs
here (RUNNABLE) or names why not (NOT_RUN), and what runs here is run with the names (env
variables, files) every shipped stack gives it."""

from __future__ import annotations

import pytest

from .images import CONTRACT, NOT_RUN, RUNNABLE, program_available
from .runner import RUN_STACK, shipped_stacks, stack_catalog

STACKS = shipped_stacks()
RUN_CATALOG = stack_catalog(RUN_STACK)[1]


def test_the_shipped_stacks_are_read():
    assert RUN_STACK in STACKS and len(STACKS) >= 2


def test_run_here_and_not_run_do_not_overlap():
    assert not set(RUNNABLE) & set(NOT_RUN)


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_is_run_here_or_has_a_reason(stack):
    services = set(stack_catalog(stack)[1].services)
    uncovered = services - set(RUNNABLE) - set(NOT_RUN)
    assert not uncovered, f"{stack}: add to tests/catalog_runs/images.py RUNNABLE or NOT_RUN: {sorted(uncovered)}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_runnable_service_of_a_stack_is_started_by_the_run(stack):
    """A service that exists only in another stack would never be started here."""
    services = stack_catalog(stack)[1].services
    runnable = {n for n in services if n in RUNNABLE and program_available(RUNNABLE[n])}
    assert runnable <= set(RUN_CATALOG.services), f"only in {stack}: {sorted(runnable - set(RUN_CATALOG.services))}"


@pytest.mark.parametrize("stack", STACKS)
def test_run_stack_has_every_env_name_and_file_of_each_stack(stack):
    """Values differ per stack (hosts, replicas); a variable or file only one stack has would go untested."""
    services = stack_catalog(stack)[1].services
    for name in set(services) & set(RUNNABLE) & set(RUN_CATALOG.services):
        spec, run = services[name], RUN_CATALOG.services[name]
        assert {*spec.env, *spec.secret_env} <= {*run.env, *run.secret_env}, name
        assert {f.path for f in spec.files} <= {f.path for f in run.files}, name
        assert (spec.command is None) == (run.command is None), name


def test_services_not_run_here_exist_and_are_listed(capsys):
    """No stale reasons; "contract fixture" is true for each; the list (printed) is what the closing
    note reports."""
    from tests.contracts.contracts import program_of

    every = {}
    for stack in STACKS:
        every.update(stack_catalog(stack)[1].services)
    assert set(NOT_RUN) <= set(every), f"not in any stack: {sorted(set(NOT_RUN) - set(every))}"
    without = [n for n, why in NOT_RUN.items() if why == CONTRACT and program_of(every[n]) is None]
    assert not without, f"no upstream contract fixture in tests/contracts for {without}"
    with capsys.disabled():
        print("\nnot run here:", "; ".join(f"{n} ({why})" for n, why in sorted(NOT_RUN.items())))
