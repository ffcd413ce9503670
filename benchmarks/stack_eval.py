"""Evaluate each stack under Pulumi's mock runtime; print time per stack and the startup critical path.

Goals: under 2 s per stack on 2 cores; a critical path of at most 4 links.
Run: .venv/bin/python benchmarks/stack_eval.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.catalog import offline_catalog  # noqa: E402
from tests.infra.harness import run_stack, stack_file_config  # noqa: E402


def critical_path(stack: str) -> list[str]:
    raw = {k.split(":", 1)[1]: v for k, v in stack_file_config(stack).items() if k.startswith("mlops-platform:")}
    _, catalog = offline_catalog(stack, raw)
    longest: dict[str, list[str]] = {}
    for name in catalog.startup_order():
        spec = catalog.services[name]
        chain = max((longest[d.service] for d in spec.depends_on), key=len, default=[])
        steps = [f"{name}+bootstrap"] if spec.bootstrap else [name]
        longest[name] = chain + steps
    return max(longest.values(), key=len)


def main() -> None:
    print(f"{'stack':<12}{'median s':>10}{'max s':>8}{'resources':>11}  critical path (links)")
    for stack in ("dev", "staging", "production"):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            run = run_stack(stack)
            times.append(time.perf_counter() - started)
        path = critical_path(stack)
        print(
            f"{stack:<12}{statistics.median(times):>10.3f}{max(times):>8.3f}{len(run.resources):>11}  "
            f"{' -> '.join(path)} ({len(path) - 1})"
        )


if __name__ == "__main__":
    main()
