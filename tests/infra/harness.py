"""Run the real Pulumi program under Pulumi's mock runtime and record what it registers.

The recording monitor keeps what `pulumi preview` would send to the engine:
types, names, inputs (with secret markers intact), dependencies and resource
options, plus the stack outputs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

PROJECT = "mlops-platform"
SECRET_SIG = rpc._special_sig_key  # "4dabf18193072939515e22adb298388d"
SECRET_VALUE = rpc._special_secret_sig


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    inputs: dict
    raw: dict  # inputs as sent, secret wrappers included
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    parent: str
    #: Whether the program set delete_before_replace at all (False: the provider's choice stands).
    delete_before_replace_defined: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)


def local_image_id(image_name: str) -> str:
    """What the mock engine reports as a local build's image ID (stable per image name)."""
    return "sha256:" + hashlib.sha256(image_name.encode()).hexdigest()


def secret_value(name: str) -> str:
    return f"mock-secret-{name}-Zq8"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, deployed_outputs: dict[str, Any] | None = None):
        #: The outputs of the stack's previous deployment, as a StackReference to it reads them (None: never deployed).
        self.deployed_outputs = deployed_outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        out = dict(args.inputs)
        t = args.typ
        if t == "pulumi:pulumi:StackReference":
            # The engine reads the referenced stack's outputs; a stack that has none yet has an empty map.
            out["outputs"] = dict(self.deployed_outputs or {})
            out["secretOutputNames"] = []
        elif t == "random:index/randomPassword:RandomPassword":
            # A replaced password (changed keepers: a rotation) gets a new value, as the provider's would.
            rotation = (args.inputs.get("keepers") or {}).get("rotation")
            out["result"] = secret_value(args.name if rotation is None else f"{args.name}-r{rotation}")
            out["bcryptHash"] = f"$2a$10$mockhash{args.name}" + ("" if rotation is None else f"r{rotation}")
        elif t == "docker:index/remoteImage:RemoteImage":
            out["imageId"] = "sha256:" + format(abs(hash(args.inputs["name"])), "x")
            out["repoDigest"] = args.inputs["name"]
        elif t == "docker:index/container:Container" and not args.inputs.get("name"):
            # The provider's autonaming: `<resource name>-<7 random hex>` (pulumi-docker provider/resources.go
            # `prov.SetAutonaming(255, "-")`). The engine keeps a resource's auto-name from one run to the next and
            # draws a new one only for a replacement, so here it is the same in every run.
            out["name"] = f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:7]}"
        elif t == "docker:index/image:Image":
            out["imageName"] = args.inputs["imageName"]
            out["repoDigest"] = local_image_id(args.inputs["imageName"])  # local-only: the image ID
        return [f"{args.name}-id", out]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: RecordingMocks):
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = unwrap(json_format.MessageToDict(request.object))
            if request.type == "docker:index/container:Container" and "name" not in inputs:
                # The inputs as the engine holds them after the provider's check (and a policy pack sees them):
                # with the auto-name filled in. `raw` keeps what the program sent.
                inputs["name"] = unwrap(json_format.MessageToDict(response.object))["name"]
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=inputs,
                    raw=json_format.MessageToDict(request.object),
                    dependencies=list(request.dependencies),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    delete_before_replace_defined=bool(request.deleteBeforeReplaceDefined),
                    parent=request.parent,
                    ignore_changes=list(request.ignoreChanges),
                    replace_on_changes=list(request.replaceOnChanges),
                )
            )
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.stack_outputs = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class StackRun:
    stack: str
    resources: list[Registered]
    outputs_raw: dict[str, Any]
    secrets: list[str] = field(default_factory=list)

    def of_type(self, suffix: str) -> list[Registered]:
        return [r for r in self.resources if r.type.endswith(suffix)]

    @property
    def containers(self) -> dict[str, Registered]:
        return {r.name: r for r in self.of_type(":Container")}

    def container(self, service: str) -> Registered:
        return self.containers[f"{PROJECT}-{self.stack}-{service}"]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def output(self, name: str) -> Any:
        return unwrap(self.outputs_raw[name])


def unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def plain_strings(value: Any) -> list[str]:
    """Every string reachable without passing through a secret wrapper."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return []
        return [s for v in value.values() for s in plain_strings(v)] + [k for k in value]
    if isinstance(value, list):
        return [s for v in value for s in plain_strings(v)]
    return [value] if isinstance(value, str) else []


REPO = Path(__file__).resolve().parents[2]
#: The backup target's key pair, as a server stack's operator sets it (encrypted) before `up`.
BACKUP_TARGET_KEYS = {"backupTargetAccessKey": "mock-target-access-Zq8", "backupTargetSecretKey": "mock-target-secret-Zq8"}


def stack_file_config(stack: str) -> dict[str, Any]:
    """The config a stack file ships with (as `pulumi up --stack X` would read it)."""
    path = REPO / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})


def run_stack(
    stack: str,
    config: dict[str, Any] | None = None,
    secret_keys: tuple[str, ...] = (),
    deployed_outputs: dict[str, Any] | None = None,
) -> StackRun:
    from infra.program import deploy

    cfg = dict(stack_file_config(stack) if config is None else config)
    backup = cfg.get(f"{PROJECT}:backup") or cfg.get("backup") or {}
    if backup.get("target") and not ({"secrets", f"{PROJECT}:secrets"} & set(cfg)):
        # What an operator of a stack with a backup target sets once: the target's key pair.
        cfg["secrets"] = dict(BACKUP_TARGET_KEYS)
        secret_keys = (*secret_keys, "secrets")
    flat = {
        (k if ":" in k else f"{PROJECT}:{k}"): (json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in cfg.items()
    }
    pulumi.runtime.set_all_config(flat, [f"{PROJECT}:{k}" for k in secret_keys])
    mocks = RecordingMocks(deployed_outputs)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

    @pulumi.runtime.test
    def program():
        services = deploy()
        return pulumi.Output.all(*[c.id for s in services.values() for c in s.containers])

    program()
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    outputs = monitor.stack_outputs
    if not outputs and root is not None:
        resolved = pulumi.runtime.sync_await._sync_await(
            rpc.serialize_properties(dict(root.outputs), {})
        )
        outputs = json_format.MessageToDict(resolved)
    return StackRun(stack, monitor.registered, outputs)


def plain_text_secrets(run: StackRun, values: list[str] | None = None) -> list[tuple[str, str]]:
    """(resource or output, text) wherever a generated secret (or one of `values`) shows outside a
    secret wrapper; every shipped stack must have none."""
    if values is None:
        names = {r.name for r in run.of_type(":RandomPassword")}
        assert names, "expected generated secrets"
        values = [secret_value(n) for n in names]
    found = [(res.name, text[:80]) for res in run.resources for text in plain_strings(res.raw) if any(v in text for v in values)]
    found += [(name, text[:80]) for name, value in run.outputs_raw.items() for text in plain_strings(value) if any(v in text for v in values)]
    return found
