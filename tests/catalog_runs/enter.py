"""Runs inside a service's fresh mount and UTS namespaces (in its network namespace): builds the
container's file system view, then exec's the container's process in it.

The view is this machine's root with copy-on-write overlays on the top-level directories the
container writes to, a private /tmp and /run, the catalog's volumes and uploaded files at their
container paths, /etc/hosts naming the other services, and from the image's facts its users in
/etc/passwd and, for an image without a CA bundle, no CA store. The process runs as the image's
(or catalog's) uid with the catalog's capabilities only. Usage: `enter.py SPEC.json`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

SPECIAL = {"proc", "sys", "dev", "tmp", "run"}


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def inside(root: str, path: str, depth: int = 0) -> str:
    """`path` of the container, as a path here: symbolic links resolved within `root`
    (`/var/run` -> `/run` must not lead to this machine's /run)."""
    if depth > 20:
        raise OSError(f"too many links resolving {path}")
    parts = [p for p in path.split("/") if p]
    current = ""
    for i, part in enumerate(parts):
        candidate = f"{current}/{part}"
        if os.path.islink(root + candidate):
            target = os.readlink(root + candidate)
            base = target if target.startswith("/") else os.path.normpath(f"{current}/{target}")
            return inside(root, "/".join([base, *parts[i + 1 :]]), depth + 1)
        current = candidate
    return root + current


def ensure(path: str, directory: bool) -> None:
    if directory:
        os.makedirs(path, exist_ok=True)
    elif not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()


def build_root(spec: dict) -> str:
    root, state = spec["root"], spec["state"]
    os.makedirs(root, exist_ok=True)
    for name in sorted(os.listdir("/")):
        src, dst = f"/{name}", f"{root}/{name}"
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif not os.path.isdir(src) or name in SPECIAL or src == spec["root_top"]:
            continue
        elif name in spec["overlay"]:
            upper, work = f"{state}/overlay/{name}/upper", f"{state}/overlay/{name}/work"
            os.makedirs(upper), os.makedirs(work), os.makedirs(dst)
            mount("-t", "overlay", "overlay", "-o", f"lowerdir={src},upperdir={upper},workdir={work}", dst)
        else:
            os.makedirs(dst)
            mount("--rbind", src, dst)
    for name in ("proc", "sys", "dev"):
        os.makedirs(f"{root}/{name}")
        mount("--rbind", f"/{name}", f"{root}/{name}")
    for name, mode in (("tmp", 0o1777), ("run", 0o755)):
        os.makedirs(f"{state}/{name}"), os.makedirs(f"{root}/{name}")
        os.chmod(f"{state}/{name}", mode)
        mount("--bind", f"{state}/{name}", f"{root}/{name}")
    return root


def owner(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    return int(uid), int(gid or uid)


def write_users(root: str, users: dict[str, list[int]]) -> None:
    """The image's users (its facts) in /etc/passwd and /etc/group, in place of this machine's entries of the same
    name or id: a program looks itself up by the uid the image gives it."""
    for path, line in (("/etc/passwd", "{name}:x:{uid}:{gid}::/nonexistent:/bin/sh"), ("/etc/group", "{name}:x:{gid}:")):
        target = inside(root, path)
        ids = {str(uid if path.endswith("passwd") else gid) for uid, gid in users.values()}
        kept = [
            entry for entry in open(target).read().splitlines()
            if entry.split(":")[0] not in users and entry.split(":")[2:3] != [] and entry.split(":")[2] not in ids
        ]  # fmt: skip
        added = {line.format(name=name, uid=uid, gid=gid) for name, (uid, gid) in users.items()}
        with open(target, "w") as f:
            f.write("\n".join([*kept, *sorted(added)]) + "\n")


def hide_ca_store(root: str) -> None:
    """The image has no CA bundle: this machine's (Debian's ca-certificates, which OpenSSL's default paths and Go
    read) must not be visible either."""
    for path in ("/etc/ssl/certs", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"):
        target = inside(root, path)
        if os.path.isdir(target):
            mount("-t", "tmpfs", "-o", "size=64k,mode=755", "tmpfs", target)


def dropping_capabilities(uid: int, caps: list[str], argv: list[str]) -> list[str]:
    """Docker's `--cap-drop ALL --cap-add ...` and no-new-privileges: a root process keeps only the catalog's
    capabilities (it cannot write what its uid does not own, as in the container); a non-root one has none."""
    if uid != 0:  # setuid() to it cleared every capability already
        return ["/usr/bin/setpriv", "--nnp", "--", *argv]
    bounding = ",".join(["-all", *(f"+{c.lower()}" for c in caps)])
    return ["/usr/bin/setpriv", "--nnp", f"--bounding-set={bounding}", "--inh-caps=-all", "--", *argv]


def main() -> None:
    spec = json.loads(open(sys.argv[1]).read())
    socket.sethostname(spec["hostname"])
    root = build_root(spec)
    for path, (host_path, read_only) in spec["binds"].items():
        target = inside(root, path)
        directory = os.path.isdir(host_path)
        ensure(target, directory)
        mount("--rbind" if directory else "--bind", host_path, target)
        if read_only:
            mount("-o", "remount,bind,ro", target)
    for path, content_file in spec["files"].items():  # Docker uploads: root-owned, 0644
        target = inside(root, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(content_file, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())
        os.chmod(target, 0o644)
    with open(inside(root, "/etc/hosts"), "w") as hosts:
        hosts.write(spec["hosts"])
    with open(inside(root, "/etc/resolv.conf"), "w") as f:
        # Docker's embedded DNS answers the other containers' names (our /etc/hosts does) and fails
        # fast otherwise; this machine's resolvers are unreachable from the test network.
        f.write("# no DNS server: names come from /etc/hosts; lookups of others fail at once\n")
    with open(inside(root, "/etc/hostname"), "w") as f:
        f.write(spec["hostname"] + "\n")
    write_users(root, spec["users"])
    if not spec["ca_store"]:
        hide_ca_store(root)
    uid, gid = owner(spec["user"])
    os.chroot(root)
    os.chdir(spec["workdir"])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    env = spec["env"]
    if spec["prelude"]:
        subprocess.run(dropping_capabilities(uid, spec["caps"], ["sh", "-c", spec["prelude"]]), env=env, check=True)
    argv = dropping_capabilities(uid, spec["caps"], spec["argv"])
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main()
