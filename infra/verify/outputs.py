"""The stack outputs verify reads: from `pulumi stack output` or a JSON file of the same shape."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class OutputsError(Exception):
    """The outputs cannot be read or lack a key verify needs; the message names it."""


@dataclass(frozen=True)
class StackOutputs:
    stack: str
    urls: dict[str, str]
    credentials: dict[str, dict[str, str]]
    containers: dict[str, list[str]] = field(default_factory=dict)
    tls: bool = True
    acme_staging: bool = False

    @classmethod
    def parse(cls, stack: str, doc: Any) -> "StackOutputs":
        if not isinstance(doc, dict):
            raise OutputsError("outputs: expected a JSON object (pulumi stack output --json)")
        for key in ("urls", "credentials"):
            if not isinstance(doc.get(key), dict) or not doc[key]:
                raise OutputsError(f"outputs.{key}: missing or empty (is the stack deployed? use --show-secrets)")
        for name, creds in doc["credentials"].items():
            if not isinstance(creds, dict) or any(str(v).startswith("[secret]") for v in creds.values()):
                raise OutputsError(f"outputs.credentials.{name}: secret not shown (run with --show-secrets)")
        urls = doc["urls"]
        # `tls` is exported by infra/program.py; stacks deployed before it existed are read from the URLs.
        tls_doc = doc.get("tls") or {}
        tls = bool(tls_doc.get("enabled", all(u.startswith("https://") for u in urls.values())))
        return cls(
            stack=stack,
            urls=dict(urls),
            credentials=dict(doc["credentials"]),
            # The Kubernetes target exports its services as `workloads` (all in the stack's namespace).
            containers={k: list(v) for k, v in (doc.get("containers") or doc.get("workloads") or {}).items()},
            tls=tls,
            acme_staging=bool(tls_doc.get("acmeStaging", False)),
        )

    def secret_values(self) -> list[str]:
        """Every credential value, so the report can mask them wherever they might appear."""
        return [str(v) for creds in self.credentials.values() for v in creds.values() if v and len(str(v)) >= 4]


def pulumi_outputs(stack: str, cwd: Path | None = None) -> dict:
    cmd = ["pulumi", "stack", "output", "--stack", stack, "--json", "--show-secrets"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)
    except FileNotFoundError:
        raise OutputsError("pulumi: CLI not found on PATH (or pass --outputs FILE)") from None
    if done.returncode != 0:
        raise OutputsError(f"pulumi stack output --stack {stack} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def load(stack: str, path: str | None = None) -> StackOutputs:
    if path:
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise OutputsError(f"--outputs {path}: {exc}") from None
    else:
        doc = pulumi_outputs(stack)
    return StackOutputs.parse(stack, doc)
