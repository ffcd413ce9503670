"""Versions read out of what the catalog pins: an image reference's tag, a Dockerfile's base image."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def image_tag(ref: str) -> str:
    """The tag of `name[:tag][@sha256:digest]` ("" when it names none)."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def base_image(dockerfile: str) -> str:
    """The image of a Dockerfile's last `FROM` (the one the image is built on), relative to the repository."""
    refs = re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", (REPO_ROOT / dockerfile).read_text(), re.MULTILINE)
    if not refs:
        raise ValueError(f"{dockerfile}: no FROM line")
    return refs[-1]


def numeric_version(tag: str) -> tuple[int, ...] | None:
    """(major, minor, patch...) of a tag such as `4.2.9-management` or `18.6-trixie`; None if it starts otherwise."""
    match = re.match(r"^(\d+(?:\.\d+)*)(?:[-+].*)?$", tag)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None
