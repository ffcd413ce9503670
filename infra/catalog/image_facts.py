"""What the platform relies on in each image it runs, read at the pinned tag (image_facts.yaml): the user,
entrypoint and command, the paths the catalog mounts with their owner and mode in the image (or absent),
the CA bundle and the shell. The catalog-run sandbox builds each container's root from these facts, and
the policy pack reads the same file (policy/rules.py) to check who can write which volume and which TLS
client has certificates to verify with.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .model import VOLUME_FROM_ABSENT_PATH, BuiltImage, Mount, ServiceSpec

FACTS_FILE = Path(__file__).with_name("image_facts.yaml")


@dataclass(frozen=True)
class PathFact:
    """A path in the image: its owner and mode, or absent (owner None)."""

    owner: tuple[int, int] | None
    mode: int | None
    cite: str

    @property
    def exists(self) -> bool:
        return self.owner is not None


@dataclass(frozen=True)
class ImageFacts:
    key: str
    tag: str
    read: str  # the upstream file(s) read, at which tag or commit
    user: tuple[int, int]  # who the image's process starts as (USER, resolved in the image's passwd)
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    shell: str | None  # None: the image has no shell (a catalog `sh -c` cannot run in it)
    ca_bundle: str | None  # the system CA bundle's path, None when the image has none
    users: dict[str, tuple[int, int]]  # names the catalog uses for the image's users -> uid, gid
    paths: dict[str, PathFact]
    cites: dict[str, str]  # fact -> where upstream says so

    def resolve_user(self, user: str | None) -> tuple[int, int]:
        """A container's `user` (catalog or image label) as uid, gid: a name of the image's passwd, `uid`
        (its primary group from that passwd, else 0, as Docker does) or `uid:gid`."""
        if user is None:
            return self.user
        name, _, group = user.partition(":")
        if name in self.users:
            uid, gid = self.users[name]
        elif name.isdigit():
            uid = int(name)
            gid = next((g for u, g in self.users.values() if u == uid), 0)
        else:
            raise KeyError(f"{self.key}: user '{name}' is not in the image facts' users")
        return uid, int(group) if group.isdigit() else gid


def _ids(value: str) -> tuple[int, int]:
    uid, _, gid = str(value).partition(":")
    return int(uid), int(gid or uid)


def _fact(raw: dict, name: str) -> tuple[Any, str]:
    entry = raw[name]
    if not isinstance(entry, dict) or set(entry) != {"value", "cite"} or not str(entry["cite"]).strip():
        raise ValueError(f"{name}: every fact is {{value, cite}} with a citation, got {entry!r}")
    return entry["value"], entry["cite"]


def _parse(key: str, raw: dict) -> ImageFacts:
    cites = {}
    values = {}
    for name in ("user", "entrypoint", "cmd", "shell", "ca_bundle"):
        values[name], cites[name] = _fact(raw, name)
    paths = {}
    for path, entry in (raw.get("paths") or {}).items():
        if not str(entry.get("cite", "")).strip():
            raise ValueError(f"{key}: path {path} has no citation")
        owner = entry.get("owner")
        paths[path] = PathFact(
            owner=_ids(owner) if owner is not None else None,
            mode=int(str(entry["mode"]), 8) if owner is not None else None,
            cite=entry["cite"],
        )
    users = {name: _ids(ids) for name, ids in (raw.get("users") or {}).items()}
    return ImageFacts(
        key=key, tag=str(raw["tag"]), read=raw["read"], user=_ids(values["user"]),
        entrypoint=tuple(values["entrypoint"] or ()), cmd=tuple(values["cmd"] or ()), shell=values["shell"],
        ca_bundle=values["ca_bundle"], users=users, paths=paths, cites=cites,
    )  # fmt: skip


@functools.cache
def all_facts() -> dict[str, ImageFacts]:
    raw = yaml.safe_load(FACTS_FILE.read_text())["images"]
    return {key: _parse(key, entry) for key, entry in raw.items()}


def facts_key(image: str | BuiltImage) -> str:
    """The image repository as pinned (tag and digest dropped); ours as `app/<name>`."""
    if isinstance(image, BuiltImage):
        return f"app/{image.name}"
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition("/")
    return f"{head}/{tail.split(':', 1)[0]}" if head else tail.split(":", 1)[0]


def facts_for(spec: ServiceSpec) -> ImageFacts:
    key = facts_key(spec.image)
    try:
        return all_facts()[key]
    except KeyError:
        raise KeyError(f"{spec.name}: no image facts for '{key}' (infra/catalog/image_facts.yaml)") from None


def created_volume(mounters: list[tuple[ImageFacts, str, bool]]) -> tuple[int, int, int]:
    """(uid, gid, mode) of a new named volume's root as Docker creates it, from its mounters (image facts, mount path,
    read-only). A container created while the volume is still empty fills it from its image path, owner and mode
    included, when that path exists (VOLUME_FROM_ABSENT_PATH): the result is that owner and mode when every mounter
    whose image has the path agrees and every other mounter only reads (so none writes before the fill); otherwise
    it depends on which container Docker creates first, and root:root 0755 is what a writer must expect."""
    having = {(f.paths[p].owner, f.paths[p].mode) for f, p, _ in mounters if p in f.paths and f.paths[p].exists}
    others_read = all(ro for f, p, ro in mounters if not (p in f.paths and f.paths[p].exists))
    if len(having) == 1 and others_read:
        (owner, mode), = having
        return (*owner, mode)
    return VOLUME_FROM_ABSENT_PATH


def writable_mounts(spec: ServiceSpec) -> list[Mount]:
    return [m for m in spec.mounts if isinstance(m, Mount) and not m.read_only]
