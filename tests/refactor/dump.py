"""`python tests/refactor/dump.py ROOT OUT.json`: what the Pulumi program in checkout ROOT registers for
every shipped stack under the mock runtime (types, names, inputs with secret markers, dependencies,
options) and its stack outputs, as JSON.

The restructure of issue #25 must not change a single rendered resource: the test beside this file
dumps the commit before it and the working tree and compares them. Run in its own process per
checkout (the program's modules are imported from ROOT), with PYTHONHASHSEED fixed by the caller.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]


def dump(root: Path) -> dict:
    sys.path.insert(0, str(root))
    sys.path.insert(1, str(HERE))  # this checkout's mock harness
    from tests.infra import harness
    from tests.k8s.harness import run_k8s_stack

    harness.REPO = root  # the stack files of ROOT
    found = {}
    for path in sorted(root.glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi.") : -len(".yaml")]
        config = harness.stack_file_config(stack)
        kubernetes = (config.get("mlops-platform:target") or config.get("target")) == "kubernetes"
        run = run_k8s_stack(stack=stack) if kubernetes else harness.run_stack(stack)
        found[stack] = {
            "resources": sorted(
                (
                    {
                        "urn": r.urn, "type": r.type, "name": r.name, "inputs": r.raw, "dependencies": sorted(r.dependencies),
                        "parent": r.parent, "protect": r.protect, "retain_on_delete": r.retain_on_delete,
                        "delete_before_replace": r.delete_before_replace, "ignore_changes": sorted(r.ignore_changes),
                    }
                    for r in run.resources
                ),
                key=lambda r: r["urn"],
            ),  # fmt: skip
            "outputs": run.outputs_raw,
        }
    return found


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve()
    text = json.dumps(dump(root), indent=1, sort_keys=True)
    Path(sys.argv[2]).write_text(text.replace(str(root), "<ROOT>"))  # build contexts and the like
