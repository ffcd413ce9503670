"""Rotate a generated secret: `python -m infra.rotate --stack staging <secret>`.

It bumps the stack's `rotation.<secret>` counter (`pulumi config set --stack <s> --path
rotation.<secret> <n+1>`; with `--path`, Pulumi stores an integer as a number: docs of `pulumi
config set`). The counter is the `keepers` of the secret's pulumi-random password, so the next
`pulumi up` replaces the password, re-runs the bootstraps that apply it (their triggers include it)
and replaces every container whose environment or files hold it. Secrets whose rotation would not
converge are refused with the reason (`NOT_ROTATABLE`).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

import yaml

from .settings import NOT_ROTATABLE, PROJECT, ROTATABLE_SECRETS

REPO_ROOT = Path(__file__).resolve().parent.parent


def stack_config(root: Path, stack: str) -> dict:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise SystemExit(f"{path.name} not found: create the stack first (pulumi stack select --create {stack})")
    return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})


def set_command(stack: str, name: str, value: int) -> list[str]:
    return ["pulumi", "config", "set", "--stack", stack, "--path", f"rotation.{name}", str(value)]


def main(
    argv: Sequence[str] | None = None,
    root: Path = REPO_ROOT,
    run: Callable[[list[str]], subprocess.CompletedProcess] = lambda a: subprocess.run(a, cwd=REPO_ROOT),
) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.rotate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("secret", help=f"one of: {', '.join(ROTATABLE_SECRETS)}")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    name = args.secret
    if name in NOT_ROTATABLE:
        print(f"{name} cannot be rotated: {NOT_ROTATABLE[name]}", file=sys.stderr)
        return 2
    if name not in ROTATABLE_SECRETS:
        print(f"unknown secret '{name}' (rotatable: {', '.join(ROTATABLE_SECRETS)})", file=sys.stderr)
        return 2
    config = stack_config(root, args.stack)
    if name in (config.get(f"{PROJECT}:secrets") or {}):
        print(
            f"secrets.{name} overrides the generated secret: set a new value with "
            f"pulumi config set --stack {args.stack} --secret --path 'secrets.{name}' <value>",
            file=sys.stderr,
        )
        return 2
    current = int((config.get(f"{PROJECT}:rotation") or {}).get(name, 0))
    command = set_command(args.stack, name, current + 1)
    print(shlex.join(command))
    if not args.dry_run:
        result = run(command)
        if result.returncode != 0:
            return result.returncode
    print(f"then apply it: pulumi up --stack {args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
