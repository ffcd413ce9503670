import pytest

from .harness import run_k8s_stack


@pytest.fixture(scope="session")
def run():
    return run_k8s_stack()
