"""Virtual environments built from exactly one image's requirements file, the way its Dockerfile's
`pip install -r` builds the image, cached under `.test-services/` by the file's hash."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".test-services"
PYTHON = shutil.which("python3.11") or sys.executable  # the images run python:3.11


def requirements_hash(requirements: Path) -> str:
    """Hash of the requirements file and every file it includes with `-r` (the image's inputs)."""
    digest = hashlib.sha256()
    stack = [requirements]
    while stack:
        path = stack.pop()
        text = path.read_text()
        digest.update(text.encode())
        for line in text.splitlines():
            if line.strip().startswith("-r "):
                stack.append((path.parent / line.split(None, 1)[1].strip()).resolve())
    return digest.hexdigest()[:12]


def image_venv(name: str, requirements: Path) -> Path:
    """`.test-services/venv-<name>-<hash>`, built once (under a lock: concurrent test runs share it)."""
    CACHE.mkdir(exist_ok=True)
    venv = CACHE / f"venv-{name}-{requirements_hash(requirements)}"
    done = venv / ".complete"
    with open(CACHE / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
            result = subprocess.run([*pip, "install", "-r", str(requirements)], capture_output=True, text=True)
            if result.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise RuntimeError(f"pip install -r {requirements} failed:\n{result.stderr[-3000:]}")
            done.touch()
    return venv
