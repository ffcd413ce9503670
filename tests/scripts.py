"""Run the catalog's shell scripts the way their containers do, against temporary directories."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_volume_usage_once(command: tuple[str, ...] | list[str], env: dict[str, str], tmp_path: Path, sizes: dict[str, int]) -> Path:
    """One round of the volume-usage script over a fake /var/lib/docker/volumes holding `sizes`
    (volume key -> bytes); returns the textfile directory it wrote to."""
    docker_names = dict(entry.split("=", 1) for entry in env["VOLUMES"].split())
    volumes, textfile = tmp_path / "volumes", tmp_path / "textfile"
    textfile.mkdir()  # root:root 0755, as Docker creates the metrics volume (no image has it) for root volume-usage
    for key, size in sizes.items():
        data = volumes / docker_names[key] / "_data"
        data.mkdir(parents=True)
        (data / "blob").write_bytes(b"x" * size)
    shell, flag, script = command
    run_env = {**env, "VOLUMES_DIR": str(volumes), "TEXTFILE_DIR": str(textfile), "ONCE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([shell, flag, script], env=run_env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert not (textfile / "volumes.prom.tmp").exists()
    return textfile
