"""Entry point for `pulumi up` / `pulumi preview`: see infra/program.py."""

from infra.program import deploy

deploy()
