"""Containers without Docker: one network namespace per service on a private bridge (so every
service listens on its catalog port and finds the others by their catalog host names) and one
mount namespace per service (so files, volumes and programs sit at their container paths).

Names carry this process' id (and a count of its networks), so concurrent test runs and networks
never collide; namespaces left by a killed run (its owner process is gone) are removed by the next one.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests import host_network

ENTER = Path(__file__).with_name("enter.py")
PREFIX = "catrun"
_NETWORKS = itertools.count()
#: A network's id: this process' id, then `n<count>` from its second network on.
_ID = r"(\d+)(?:n\d+)?"


#: `ip` commands that change the host's interfaces or addresses (not those run in a namespace, `-n`):
#: a browser on the host aborts its requests in flight when they run (tests/host_network.py).
HOST_CHANGES = {("link", "add"), ("link", "del"), ("link", "set"), ("addr", "add"), ("addr", "del"), ("netns", "del")}


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    if args[0] == "ip" and tuple(args[1:3]) in HOST_CHANGES:
        with host_network.changing():
            return subprocess.run(args, check=check, capture_output=True, text=True)
    return subprocess.run(args, check=check, capture_output=True, text=True)


def available() -> str | None:
    """Why namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    for tool in ("ip", "nsenter", "unshare", "mount"):
        if sh("sh", "-c", f"command -v {tool}", check=False).returncode != 0:
            return f"{tool} missing (.ci/run installs iproute2/util-linux)"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def kill_namespace(ns: str) -> None:
    # Its veth pair first, under the lock: deleting one end deletes both, so the bridge's end leaves
    # the host now. Left to the namespace, it would go whenever the kernel frees the namespace
    # after its processes, a host interface change that no lock covers.
    with host_network.changing():
        sh("ip", "-n", ns, "link", "del", "eth0", check=False)
    for _ in range(50):
        pids = [int(p) for p in sh("ip", "netns", "pids", ns, check=False).stdout.split()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    sh("ip", "netns", "del", ns, check=False)


def remove_stale() -> None:
    """Namespaces and bridges of earlier runs whose test process no longer exists."""
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        m = re.match(rf"({PREFIX}-{_ID}-\S+)", line)
        if m and not _alive(int(m.group(2))):
            kill_namespace(m.group(1))
    for line in sh("ip", "-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        m = re.search(rf": (crb{_ID}):", line)
        if m and not _alive(int(m.group(2))):
            sh("ip", "link", "del", m.group(1), check=False)
    for state in Path(tempfile.gettempdir()).glob(f"{PREFIX}-*-*"):
        m = re.match(rf"{PREFIX}-{_ID}-", state.name)
        if m and not _alive(int(m.group(1))):
            subprocess.run(["rm", "-rf", "--one-file-system", str(state)], check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    used = sh("ip", "-o", "-4", "addr", "show").stdout + sh("ip", "-4", "route", "show").stdout
    for _ in range(100):
        net = ipaddress.ip_network(f"10.{random.randint(160, 250)}.{random.randint(0, 255)}.0/24")
        if f"10.{net.network_address.packed[1]}.{net.network_address.packed[2]}." not in used:
            return net
    raise RuntimeError("no free 10.x.y.0/24 subnet")


@dataclass
class Container:
    name: str
    ns: str
    address: str
    proc: subprocess.Popen
    log: Path
    env: dict[str, str]
    user: str  # uid:gid `docker exec` runs as: the catalog's user, else the image's USER
    workdir: str
    files: dict[str, str]
    argv: list[str]
    caps: tuple[str, ...] = ()  # the catalog's added capabilities (every other one is dropped)

    def log_tail(self, lines: int = 40) -> str:
        """The first error line (a crash-looping server buries it) and the last lines of output."""
        text = self.log.read_text(errors="replace").splitlines()
        first = next((line for line in text if re.search(r"\w+Error\b|FATAL|BOOT FAILED", line)), None)
        return (f"first error: {first}\n" if first else "") + "\n".join(text[-lines:])

    def exec(self, argv: list[str], env: dict[str, str] | None = None, user: str | None = None,
             stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        """`docker exec`: the container's namespaces, root, working directory, user and environment."""
        uid, gid = _ids(user or self.user)
        environment = {**self.env, **(env or {})}
        # Docker runs an exec with the container's capabilities and no-new-privileges, as enter.py the process.
        bounding = ",".join(["-all", *(f"+{c.lower()}" for c in self.caps)])
        drop = ["--bounding-set=" + bounding, "--inh-caps=-all"] if uid == 0 else []
        cmd = ["nsenter", "-t", str(self.proc.pid), "--net", "--mount", "--uts", "--root", "--wd",
               f"--setuid={uid}", f"--setgid={gid}", "/usr/bin/setpriv", "--nnp", *drop, "--",
               "env", "-i", *[f"{k}={v}" for k, v in environment.items()], *argv]  # fmt: skip
        try:
            return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(cmd, 124, exc.stdout or "", f"timed out after {timeout}s")

    def environ(self) -> dict[str, str]:
        raw = Path(f"/proc/{self.proc.pid}/environ").read_bytes().split(b"\0")
        return dict(item.decode().split("=", 1) for item in raw if item)

    def read(self, path: str) -> str:
        return Path(f"/proc/{self.proc.pid}/root{path}").read_text()


def _ids(user: str) -> tuple[int, int]:
    """`uid:gid` (the runner resolves names in the image's facts, not in this machine's passwd)."""
    uid, _, gid = user.partition(":")
    return int(uid), int(gid or uid)


class Network:
    """A bridge with one namespace per service; the host end has the first address."""

    def __init__(self, names: list[str]):
        remove_stale()
        count = next(_NETWORKS)
        self.id = f"{os.getpid()}n{count}" if count else str(os.getpid())
        self.state = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-{self.id}-"))
        os.chmod(self.state, 0o755)
        self.bridge = f"crb{self.id}"
        self.subnet = _free_subnet()
        hosts = list(self.subnet.hosts())
        self.gateway = str(hosts[0])
        self.addresses = {name: str(hosts[i + 1]) for i, name in enumerate(names)}
        self.aliases: dict[str, list[str]] = {}  # more names of a service (hostname, replica alias)
        self.namespaces: list[str] = []
        self.containers: dict[str, Container] = {}
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")

    @property
    def hosts_file(self) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{addr}\t{' '.join(dict.fromkeys([name, *self.aliases.get(name, [])]))}" for name, addr in self.addresses.items()]
        return "\n".join(lines) + "\n"

    def namespace(self, name: str) -> str:
        ns = f"{PREFIX}-{self.id}-{name}"
        index = list(self.addresses).index(name)
        host_end, peer = f"crv{self.id}x{index}", f"crp{self.id}x{index}"
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", peer)
        sh("ip", "link", "set", peer, "netns", ns)
        sh("ip", "link", "set", host_end, "master", self.bridge)
        sh("ip", "link", "set", host_end, "up")
        sh("ip", "-n", ns, "link", "set", peer, "name", "eth0")
        sh("ip", "-n", ns, "addr", "add", f"{self.addresses[name]}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def start(self, name: str, argv: list[str], *, env: dict[str, str], user: str, exec_user: str, workdir: str,
              hostname: str, binds: dict[str, tuple[str, bool]], files: dict[str, str],
              users: dict[str, tuple[int, int]], ca_store: bool, caps: tuple[str, ...] = (),
              prelude: str | None = None) -> Container:  # fmt: skip
        """Start `argv` as container `name` as `user` (uid:gid). `binds`: container path -> (path here, read-only);
        `files`: container path -> content (Docker's uploads); `users`: the image's passwd (name -> uid, gid);
        `ca_store`: whether the image has a CA bundle; `caps`: the capabilities the catalog adds back."""
        ns = self.namespace(name)
        state = self.state / name
        staged = state / "uploads"
        staged.mkdir(parents=True)
        staged_files = {}
        for i, (path, content) in enumerate(files.items()):
            (staged / str(i)).write_text(content)
            staged_files[path] = str(staged / str(i))
        tops = {p.strip("/").split("/")[0] for p in [*binds, *files, "/etc/hosts"]}
        spec = {
            "root": str(state / "root"), "state": str(state), "root_top": "/tmp", "hostname": hostname,
            "overlay": sorted(t for t in tops if Path("/" + t).is_dir() and not Path("/" + t).is_symlink()),
            "binds": binds, "files": staged_files, "hosts": self.hosts_file, "users": users, "ca_store": ca_store,
            "caps": list(caps), "user": user, "workdir": workdir, "env": env, "argv": argv, "prelude": prelude,
        }  # fmt: skip
        (state / "spec.json").write_text(json.dumps(spec))
        log = state / "output.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{ns}", "--", "unshare", "--mount", "--uts", "--propagation", "private",
                 "--", sys.executable, str(ENTER), str(state / "spec.json")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        container = Container(name, ns, self.addresses[name], proc, log, env, exec_user, workdir, files, argv, tuple(caps))
        self.containers[name] = container
        return container

    def start_plain(self, name: str, argv: list[str]) -> subprocess.Popen:
        """A process in its own network namespace only (a stand-in peer, not a catalog container)."""
        ns = self.namespace(name)
        (self.state / name).mkdir()
        with open(self.state / name / "output.log", "wb") as out:
            return subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "--", *argv], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def directory(self, key: str, uid: int, gid: int, mode: int) -> str:
        """A fresh directory here (a named volume, an image directory) with the owner and mode Docker gives it."""
        path = self.state / "dirs" / key.strip("/")
        path.mkdir(parents=True)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        return str(path)

    def close(self) -> None:
        for ns in reversed(self.namespaces):
            kill_namespace(ns)
        sh("ip", "link", "del", self.bridge, check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.state)], check=False)
