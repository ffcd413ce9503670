"""The restructure of issue #25 renders every shipped stack exactly as before: same resources (names,
types, inputs, dependencies, options) and outputs as the commit before it. Removed once it is done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BEFORE = "c423c9f"  # main before the restructure (with h/sandbox22 merged)
DUMP = Path(__file__).with_name("dump.py")


def dumped(root: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run([sys.executable, str(DUMP), str(root), str(out)], check=True, env=env, timeout=600, cwd=root)
    return json.loads(out.read_text())


def test_every_shipped_stack_renders_the_same_resources_as_before_the_restructure(tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE], check=True, capture_output=True).stdout
    (tmp_path / "before.tar").write_bytes(archive)
    with tarfile.open(tmp_path / "before.tar") as tar:
        tar.extractall(before, members=[m for m in tar.getmembers() if not m.name.startswith("tests/")], filter="data")
    old, new = dumped(before, tmp_path / "before.json"), dumped(REPO, tmp_path / "after.json")
    assert sorted(old) == sorted(new)
    for stack in old:
        old_urns = {r["urn"]: r for r in old[stack]["resources"]}
        new_urns = {r["urn"]: r for r in new[stack]["resources"]}
        assert sorted(old_urns) == sorted(new_urns), stack
        changed = [urn for urn in old_urns if old_urns[urn] != new_urns[urn]]
        assert changed == [], (stack, changed[:5])
        assert old[stack]["outputs"] == new[stack]["outputs"], stack
