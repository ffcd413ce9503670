"""The Kubernetes stack under Pulumi's mock runtime, recorded by tests/infra/harness.py,
and the recorded inputs as the manifests the provider would apply."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.settings import get_root_resource

from tests.infra import harness
from tests.infra.harness import StackRun, unwrap

STACK = "k8s-staging"


def run_k8s_stack(config: dict[str, Any] | None = None, stack: str = STACK) -> StackRun:
    """`run_stack` waits on Docker containers' ids; here the program's return value is the
    rendered services, so wait on the workloads instead (same recorder, same config path)."""
    import pulumi

    from infra.program import deploy

    cfg = harness.stack_file_config(stack) if config is None else config
    flat = {
        (k if ":" in k else f"{harness.PROJECT}:{k}"): (
            json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else str(v)
        )
        for k, v in cfg.items()
    }
    pulumi.runtime.set_all_config(flat, [])
    mocks = harness.RecordingMocks()
    monitor = harness.RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=harness.PROJECT, stack=stack, preview=False, monitor=monitor)

    @pulumi.runtime.test
    def program():
        services = deploy()
        return pulumi.Output.all(*[s.workload.id for s in services.values()])

    program()
    outputs = monitor.stack_outputs
    root = get_root_resource()
    if not outputs and root is not None:  # as in tests/infra/harness.py::run_stack
        resolved = pulumi.runtime.sync_await._sync_await(rpc.serialize_properties(dict(root.outputs), {}))
        outputs = json_format.MessageToDict(resolved)
    return StackRun(stack, monitor.registered, outputs)


def _ints(value: Any) -> Any:
    """The mock monitor carries numbers as floats (protobuf Value); manifests want integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def manifest(res) -> dict:
    """A recorded pulumi-kubernetes resource as the manifest it applies (camelCase, as sent)."""
    body = _ints(unwrap(res.inputs))
    return {k: v for k, v in body.items() if not k.startswith("__")}
