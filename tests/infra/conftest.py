import pytest

from .harness import run_stack

STACKS = ("staging", "production", "dev")


@pytest.fixture(scope="session")
def runs():
    return {stack: run_stack(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def run(request, runs):
    return runs[request.param]
