"""Helpers for values that are plain strings in static use (diagram, policy tests) and
Pulumi Outputs inside a deployment, so catalog code can treat both alike."""

from __future__ import annotations

from typing import Any, Callable

import pulumi


def is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


def fmt(template: str, **values: Any) -> Any:
    """`template.format(**values)`, as an Output when any value is one (secrecy is kept)."""
    if not any(is_output(v) for v in values.values()):
        return template.format(**values)
    return pulumi.Output.all(**values).apply(lambda v: template.format(**v))


def derive(fn: Callable[..., str], *values: Any) -> Any:
    """Apply `fn` to values that may be Outputs."""
    if not any(is_output(v) for v in values):
        return fn(*values)
    return pulumi.Output.all(*values).apply(lambda v: fn(*v))
