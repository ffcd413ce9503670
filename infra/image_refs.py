"""The image reference a container runs, the same on both targets: a pinned third-party tag, our
image on GHCR, or a local build tagged with the content hash of its sources."""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path
from typing import Sequence

from .catalog.model import BuiltImage
from .settings import PROJECT, PlatformSettings

REPO_ROOT = Path(__file__).resolve().parent.parent


def dockerignore_patterns(directory: Path) -> list[str]:
    """The build context's `.dockerignore` patterns (comments and blank lines dropped)."""
    path = directory / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def is_ignored(rel: str, patterns: Sequence[str]) -> bool:
    """Docker's rule for the patterns `.dockerignore` uses here: a pattern matches the path
    or one of its parent directories; `**/` matches any number of leading directories."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("!"):
            raise ValueError(f".dockerignore: exceptions ('{pattern}') are not supported by source_hash")
        tail = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if tail != pattern and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], tail):
                return True
    return False


def source_hash(directory: Path) -> str:
    """Content hash of a build context, so a local image tag changes with its sources.

    It skips exactly what `.dockerignore` keeps out of the build, so an edit that does not
    reach the image neither rebuilds it nor changes its tag (and one that does, both)."""
    patterns = dockerignore_patterns(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if is_ignored(rel, patterns):
            continue
        digest.update(rel.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def image_ref(settings: PlatformSettings, image: str | BuiltImage) -> str:
    """The reference a container runs: pinned third-party tag, GHCR image, or local build tag."""
    if isinstance(image, str):
        return image
    if settings.buildImages:
        return f"{PROJECT}/{image.name}:src-{source_hash(REPO_ROOT / 'app')}"
    return f"ghcr.io/{settings.imageOwner}/mlops-{image.name}:{settings.imageTag}"
