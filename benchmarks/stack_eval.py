"""Evaluate each stack under Pulumi's mock runtime; print time per stack and the startup critical path.

Goals: under 2 s per stack on 2 cores; a critical path of at most 4 links.
Run: .venv/bin/python benchmarks/stack_eval.py [--runs 5] [STACK ...]   (default: every Pulumi.<stack>.yaml)
(no data set: it runs the program on the stack files under the mock runtime, Docker and Kubernetes)

The critical path is read from what the program registers, not from the catalog: a link A -> B is a
dependency of B's container (Docker) or workload (Kubernetes) on A's, or on A's bootstrap. It waits
(`==>`) when the engine holds B back until A is healthy or A's bootstrap has finished: a Docker
container created with `wait` (it has a healthcheck), a Kubernetes workload pulumi-kubernetes awaits
(all of them unless annotated `pulumi.com/skipAwait: "true"`, pulumi/pulumi-kubernetes
provider/pkg/metadata/annotations.go `AnnotationSkipAwait`), a bootstrap command or Job. Any other
link (`->`) only orders creation. The path is the chain with the most waits (then bootstraps, then links).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.settings import PROJECT, parse_settings  # noqa: E402
from tests.infra.harness import StackRun, run_stack, stack_file_config  # noqa: E402
from tests.k8s.harness import run_k8s_stack  # noqa: E402

#: Resources that run a service: (type, how to read the service's name from the inputs).
DOCKER_CONTAINER = "docker:index/container:Container"
K8S_WORKLOADS = {f"kubernetes:apps/v1:{kind}" for kind in ("Deployment", "StatefulSet", "DaemonSet")}
#: A bootstrap runs to completion against its service: `docker exec` (a local command) or a Job.
K8S_JOB = "kubernetes:batch/v1:Job"
BOOTSTRAPS = {"command:local:Command", K8S_JOB}
SKIP_AWAIT = "pulumi.com/skipAwait"


@dataclass(frozen=True)
class Link:
    upstream: str
    downstream: str
    waits: bool  # the downstream is held back until the upstream is healthy (or its bootstrap done)
    bootstrap: bool  # ... and the upstream's bootstrap has finished


def shipped_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def stack_target(stack: str) -> str:
    raw = {k[len(PROJECT) + 1 :]: v for k, v in stack_file_config(stack).items() if k.startswith(f"{PROJECT}:")}
    return parse_settings(stack, raw, offline=True).target


def run_program(stack: str) -> StackRun:
    """One run of the program on the stack file, with the harness of its target."""
    return run_k8s_stack(stack=stack) if stack_target(stack) == "kubernetes" else run_stack(stack)


def _service(res) -> str | None:
    """The catalog service a container or workload runs (None for any other resource)."""
    if res.type == DOCKER_CONTAINER:
        return next(l["value"] for l in res.inputs["labels"] if l["label"] == "mlops.service")
    if res.type in K8S_WORKLOADS:
        return res.inputs["metadata"]["labels"]["app.kubernetes.io/name"]
    return None


def _is_step(res) -> bool:
    """A deploy step before a service (its migration, the backup before it), not a bootstrap after one."""
    name = res.name if res.type != K8S_JOB else res.inputs["metadata"]["name"]
    return res.type in BOOTSTRAPS and name.endswith(("-migration", "-backup-before-migration"))


def _through_steps(by_urn: dict, deps: list[str]) -> list[str]:
    """`deps` with every deploy step replaced by what it waits for: a service waits for those through it."""
    out: list[str] = []
    for dep in deps:
        res = by_urn.get(dep)
        out += _through_steps(by_urn, res.dependencies) if res is not None and _is_step(res) else [dep]
    return out


def _awaited(res) -> bool:
    if res.type == DOCKER_CONTAINER:
        return bool(res.inputs.get("wait"))
    return (res.inputs["metadata"].get("annotations") or {}).get(SKIP_AWAIT) != "true"


def startup_links(run: StackRun) -> dict[tuple[str, str], Link]:
    """Every service-to-service link of the run, keyed by (upstream, downstream)."""
    by_urn = {r.urn: r for r in run.resources}
    runs_service = {r.urn: s for r in run.resources if (s := _service(r))}
    bootstrap_of = {
        r.urn: runs_service[d]
        for r in run.resources
        if r.type in BOOTSTRAPS and not _is_step(r)
        for d in r.dependencies
        if d in runs_service
    }
    links: dict[tuple[str, str], Link] = {}
    for urn, service in runs_service.items():
        for dep in _through_steps(by_urn, by_urn[urn].dependencies):
            if dep in runs_service and runs_service[dep] != service:
                upstream, waits, boot = runs_service[dep], _awaited(by_urn[dep]), False
            elif dep in bootstrap_of:
                upstream, waits, boot = bootstrap_of[dep], True, True
            else:
                continue
            old = links.get((upstream, service), Link(upstream, service, False, False))
            links[(upstream, service)] = Link(upstream, service, old.waits or waits, old.bootstrap or boot)
    return links


def _rank(chain: list[Link]) -> tuple[int, int, int]:
    return sum(l.waits for l in chain), sum(l.bootstrap for l in chain), len(chain)


def critical_path(links: dict[tuple[str, str], Link]) -> list[Link]:
    """The chain of links with the most waits, then bootstraps, then links (the graph is acyclic)."""
    into: dict[str, list[Link]] = {}
    for link in links.values():
        into.setdefault(link.downstream, []).append(link)
    best: dict[str, list[Link]] = {}

    def chain_to(name: str) -> list[Link]:
        if name not in best:
            chains = [[*chain_to(l.upstream), l] for l in into.get(name, [])]
            best[name] = max(chains, key=_rank, default=[])
        return best[name]

    ends = {l.downstream for l in links.values()}
    return max((chain_to(n) for n in sorted(ends)), key=_rank, default=[])


def format_path(path: list[Link]) -> str:
    if not path:
        return "(no links)"
    text = path[0].upstream
    for link in path:
        text += f"{'+bootstrap' if link.bootstrap else ''} {'==>' if link.waits else '->'} {link.downstream}"
    return text


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=shipped_stacks(), help="stack files to run (default: all)")
    parser.add_argument("--runs", type=int, default=5, help="program runs per stack (default: 5)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    print(f"{'stack':<13}{'target':<12}{'median s':>8}{'max s':>7}{'resources':>10}{'waits':>6}  critical path (==> waits, -> orders)")
    for stack in args.stacks:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            run = run_program(stack)
            times.append(time.perf_counter() - started)
        path = critical_path(startup_links(run))
        print(
            f"{stack:<13}{stack_target(stack):<12}{statistics.median(times):>8.3f}{max(times):>7.3f}"
            f"{len(run.resources):>10}{sum(l.waits for l in path):>6}  {format_path(path)}"
        )


if __name__ == "__main__":
    main()
