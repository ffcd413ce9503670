"""Evaluate each stack under Pulumi's mock runtime; print time per stack and the startup critical path.

Goals: under 2 s per stack on 2 cores; a critical path of at most 4 links.
Run: .venv/bin/python benchmarks/stack_eval.py [--runs 5] [dev staging production]
(no data set: it runs the program on the stack files under the mock runtime)
"""

from __future__ import annotations

import argparse
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


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=["dev", "staging", "production"], help="stack files to run")
    parser.add_argument("--runs", type=int, default=5, help="program runs per stack (default: 5)")
    return parser.parse_args(argv)


def main() -> None:
    args = arguments()
    print(f"{'stack':<12}{'median s':>10}{'max s':>8}{'resources':>11}  critical path (links)")
    for stack in args.stacks:
        times = []
        for _ in range(args.runs):
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
