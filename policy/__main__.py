"""Policy pack for `pulumi preview --policy-pack policy` (mandatory rules)."""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

sys.path.insert(0, str(Path(__file__).parent))
from rules import (  # noqa: E402
    K8S_RULES,
    RULES,
    containers_pids_limited,
    is_stateful_volume,
    namespaces_deny_by_default,
    non_root_writers_own_their_volumes,
    volumes_protected_in_production,
)


def _resource_policy(name, description, rule):
    def validate(args, report_violation):
        stack = args.urn.split(":")[2]  # urn:pulumi:<stack>::<project>::<type>::<name>
        for message in rule(args.resource_type, args.props, stack):
            report_violation(message)

    return ResourceValidationPolicy(name=name, description=description, validate=validate)


def _volumes(args, report_violation):
    stack = args.resources[0].urn.split(":")[2] if args.resources else ""
    volumes = [
        {"name": r.props.get("name"), "stateful": is_stateful_volume(r.props), "protect": r.opts.protect}
        for r in args.resources
        if r.resource_type == "docker:index/volume:Volume"
    ]
    for message in volumes_protected_in_production(volumes, stack):
        report_violation(message)


def _default_deny(args, report_violation):
    # A stack policy sees every resource with its properties (pulumi-policy PolicyResource.props).
    for message in namespaces_deny_by_default([(r.resource_type, r.props) for r in args.resources]):
        report_violation(message)


def _pids_limited(args, report_violation):
    # The limit is set by a command beside each container, so only a stack policy sees both.
    for message in containers_pids_limited([(r.resource_type, r.props) for r in args.resources]):
        report_violation(message)


def _volume_writers(args, report_violation):
    # Who can write a volume depends on every container mounting it and on the fs-group commands: a stack rule.
    for message in non_root_writers_own_their_volumes([(r.resource_type, r.props) for r in args.resources]):
        report_violation(message)


PolicyPack(
    name="mlops-platform",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[_resource_policy(n, d, r) for n, (d, r) in {**RULES, **K8S_RULES}.items()]
    + [StackValidationPolicy(name="production-volumes-protected", description="Production data volumes are protected.", validate=_volumes)]
    + [
        StackValidationPolicy(
            name="k8s-namespaces-default-deny",
            description="Every namespace the stack creates has a default-deny NetworkPolicy.",
            validate=_default_deny,
        ),
        StackValidationPolicy(
            name="pids-limited",
            description="Every Docker container has a PID limit, set by a `docker update --pids-limit` command.",
            validate=_pids_limited,
        ),
        StackValidationPolicy(
            name="non-root-writers-own-their-volumes",
            description="A non-root container writes a named volume only when the volume, as Docker creates it, lets it.",
            validate=_volume_writers,
        ),
    ],
)
