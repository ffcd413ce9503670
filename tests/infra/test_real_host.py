"""What the first `pulumi up` on a real Docker host needs, checked against each image's upstream
source at the pinned tag (issue #9). Upstream evidence is cited where the rule comes from."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.assembly import offline_catalog
from infra.services.data.minio import MINIO_BOOTSTRAP

from .harness import REPO
from .test_observability import aliases, upload

# -- MLflow -----------------------------------------------------------------------------------

MLFLOW_REQUIREMENTS = REPO / "app/mlflow/requirements.txt"


def _dist_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirement_names(path: Path) -> set[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return {_dist_name(line) for line in lines if line and not line.startswith("-")}


def test_mlflow_image_installs_what_its_prometheus_exporter_imports():
    """The catalog sets MLFLOW_EXPOSE_PROMETHEUS, so mlflow.server imports prometheus_exporter
    (mlflow 3.17.2 mlflow/server/__init__.py); its third-party imports must be installed by the
    image: either by mlflow itself (core dependencies) or by app/mlflow/requirements.txt."""
    _, catalog = offline_catalog("staging")
    assert "MLFLOW_EXPOSE_PROMETHEUS" in catalog.services["mlflow"].env
    spec = importlib.util.find_spec("mlflow.server.prometheus_exporter")
    tree = ast.parse(Path(spec.origin).read_text())
    modules = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules -= {"mlflow"} | set(sys.stdlib_module_names)
    core = {_dist_name(r) for r in importlib.metadata.requires("mlflow") if "extra ==" not in r}
    core |= {_dist_name(r) for r in importlib.metadata.requires("mlflow-skinny") if "extra ==" not in r}
    provided = core | _requirement_names(MLFLOW_REQUIREMENTS)
    installed = importlib.metadata.packages_distributions()
    for module in sorted(modules):
        dists = {d.lower().replace("_", "-") for d in installed.get(module, [module.replace("_", "-")])}
        assert dists & provided, f"{module} (distribution {dists}) is neither an mlflow core dependency nor in {MLFLOW_REQUIREMENTS.name}"


def test_mlflow_server_app_loads_with_the_catalogs_prometheus_setting(tmp_path):
    """`mlflow server` turns MLFLOW_EXPOSE_PROMETHEUS (cli/__init__.py, --expose-prometheus) into
    `prometheus_multiproc_dir` for its workers (server/__init__.py L397-398), which then import the
    Flask app with the exporter (L96-101). Imports it the same way."""
    _, catalog = offline_catalog("staging")
    assert catalog.services["mlflow"].env["MLFLOW_EXPOSE_PROMETHEUS"]
    env = {**os.environ, "prometheus_multiproc_dir": str(tmp_path / "metrics")}
    result = subprocess.run(
        [sys.executable, "-c", "import mlflow.server; print(type(mlflow.server.app).__name__)"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "Flask"


def test_dev_requirements_install_the_mlflow_image_requirements():
    lines = [line.strip() for line in (REPO / "requirements-dev.txt").read_text().splitlines()]
    assert "-r app/mlflow/requirements.txt" in lines
    assert not any(line.startswith("mlflow==") for line in lines)  # one pin, in the image's file


# -- cAdvisor ---------------------------------------------------------------------------------


def _version(tag: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"v?(\d+)\.(\d+)\.(\d+)", tag).groups())


def test_cadvisor_tag_is_one_the_release_workflow_publishes(run):
    """google/cadvisor .github/workflows/publish-container.yml publishes `{{version}}` tags, and
    `v{{version}}` only from d45869d9 on (first release v0.57.0; google/cadvisor#3871)."""
    image = next(r.inputs["name"] for r in run.of_type(":RemoteImage") if "cadvisor" in r.inputs["name"])
    repo, tag = image.rsplit(":", 1)
    assert repo == "ghcr.io/google/cadvisor"
    if tag.startswith("v"):
        assert _version(tag) >= (0, 57, 0), f"{image}: no v-prefixed GHCR tag before v0.57.0"


def test_cadvisor_reads_oom_events_from_the_kernel_log(run):
    """google/cadvisor README.md at v0.57.0 runs it with `--device=/dev/kmsg`."""
    devices = run.container("cadvisor").inputs.get("devices") or []
    assert {"hostPath": "/dev/kmsg", "containerPath": "/dev/kmsg", "permissions": "r"} in devices


def host_mounts(container) -> dict[str, tuple[str, bool]]:
    """{container path: (host path, read-only)} of a container's host binds (volumes and mounts)."""
    found = {v["containerPath"]: (v["hostPath"], bool(v.get("readOnly"))) for v in container.inputs.get("volumes") or [] if "hostPath" in v}
    found |= {m["target"]: (m["source"], bool(m.get("readOnly"))) for m in container.inputs.get("mounts") or [] if m.get("type") == "bind"}
    return found


#: google/cadvisor README.md and deploy/kubernetes/base/daemonset.yaml at v0.57.0: `/:/rootfs:ro`,
#: `/var/run:/var/run:ro`, `/sys:/sys:ro`, `/var/lib/docker/:/var/lib/docker:ro`, `/dev/disk/:/dev/disk:ro`.
CADVISOR_UPSTREAM_MOUNTS = {
    "/rootfs": ("/", True),
    "/var/run": ("/var/run", True),
    "/sys": ("/sys", True),
    "/var/lib/docker": ("/var/lib/docker", True),
    "/dev/disk": ("/dev/disk", True),
}


def test_cadvisor_mounts_what_upstream_runs_it_with_read_only(run):
    assert host_mounts(run.container("cadvisor")) == CADVISOR_UPSTREAM_MOUNTS


def test_cadvisor_reads_container_network_figures_through_the_hosts_proc(run):
    """container_network_* come from <rootFs>/proc/<pid>/net/dev (container/libcontainer/handler.go at v0.57.0,
    networkStatsFromProc); rootFs is /rootfs when /rootfs/proc exists (manager/manager.go `inHostNamespace`),
    else `/`, which in a container of its own PID namespace has no host pids. So: host `/` at /rootfs (the host's
    procfs comes along, Docker binds recursively), or the host PID namespace."""
    container = run.container("cadvisor")
    assert host_mounts(container).get("/rootfs", ("", False))[0] == "/" or container.inputs.get("pidMode") == "host"


def test_cadvisor_reaches_containerd_where_docker_keeps_images_in_containerd(run):
    """Storage driver `overlayfs` (Docker Engine 29's default containerd image store) makes cAdvisor v0.57.0 open
    a containerd client (container/docker/factory.go `ContainerdSnapshotterStorageDriver`, Register) on flag
    `containerd` (container/containerd/factory.go, default /run/containerd/containerd.sock), and every Docker
    container's handler loads its spec there (container/docker/handler.go LoadContainer). The flag names the
    socket under the /var/run mount, so it resolves whether the image links /var/run to /run or not."""
    container = run.container("cadvisor")
    flags = dict(a.lstrip("-").split("=", 1) for a in container.inputs["command"] if "=" in a)
    socket = flags.get("containerd", "/run/containerd/containerd.sock")
    mounted = {path: host for path, (host, _) in host_mounts(container).items()}
    under = [path for path in mounted if socket.startswith(path.rstrip("/") + "/")]
    assert under, f"{socket} is not under any host mount of cadvisor"
    assert mounted[under[0]] in ("/run", "/var/run")


# -- node exporter ----------------------------------------------------------------------------


def test_node_exporter_sees_host_mounts_made_after_it_started(run):
    """prometheus/node_exporter README.md at v1.12.1: `-v "/:/host:ro,rslave"`."""
    container = run.container("node-exporter")
    (root,) = [m for m in container.inputs.get("mounts") or [] if m["target"] == "/host"]
    assert root == {"type": "bind", "source": "/", "target": "/host", "readOnly": True, "bindOptions": {"propagation": "rslave"}}
    assert not [v for v in container.inputs.get("volumes") or [] if v.get("containerPath") == "/host"]


def test_node_exporter_sees_host_processes(run):
    """README at v1.12.1 runs it with `--pid="host"`: process counts are the host's."""
    assert run.container("node-exporter").inputs.get("pidMode") == "host"


def test_node_exporter_keeps_the_internal_network_instead_of_the_hosts(run):
    """The documented trade-off: host networking would publish 9100 on the host; figures of
    network interfaces describe the container's namespace instead."""
    container = run.container("node-exporter")
    assert not container.inputs.get("networkMode")
    assert aliases(run, "backend")["node-exporter"] == "node-exporter"


# -- Tempo ------------------------------------------------------------------------------------


def tempo_config(run) -> dict:
    return yaml.safe_load(upload(run, "tempo", "/etc/tempo/config.yaml"))


def test_tempo_generates_service_graph_and_span_metrics_into_mimir(run):
    """grafana/tempo docs/sources/tempo/configuration/_index.md and
    example/docker-compose/local/tempo.yaml at v2.10.7; unchanged at v2.10.8."""
    config = tempo_config(run)
    generator = config["metrics_generator"]
    assert generator["storage"]["path"].startswith("/var/tempo/")
    (remote,) = generator["storage"]["remote_write"]
    host = re.match(r"http://([^:/]+):\d+/api/v1/push$", remote["url"]).group(1)
    assert aliases(run, "backend")[host] == "mimir"
    processors = config["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert {"service-graphs", "span-metrics"} <= set(processors)


def test_grafana_service_map_reads_the_store_tempo_writes_to(run):
    datasources = yaml.safe_load(upload(run, "grafana", "/etc/grafana/provisioning/datasources/platform.yaml"))
    tempo = next(ds for ds in datasources["datasources"] if ds["uid"] == "tempo")
    mimir = next(ds for ds in datasources["datasources"] if ds["uid"] == tempo["jsonData"]["serviceMap"]["datasourceUid"])
    push = tempo_config(run)["metrics_generator"]["storage"]["remote_write"][0]["url"]
    assert mimir["url"].split("/")[2] == push.split("/")[2]


def test_tempo_runs_as_its_image_user_on_the_directory_the_image_prepares(run):
    """cmd/tempo/Dockerfile at v2.10.7 creates /var/tempo owned by 10001 and runs `USER 10001`;
    Docker copies that ownership into a fresh named volume mounted there."""
    container = run.container("tempo")
    assert not container.inputs.get("user")
    assert [v["containerPath"] for v in container.inputs["volumes"] if v.get("volumeName")] == ["/var/tempo"]


# -- Prometheus -------------------------------------------------------------------------------


def test_prometheus_retention_is_set_in_its_config_file_not_the_deprecated_flag(runs):
    """prometheus cmd/prometheus/main.go at v3.14.0 marks --storage.tsdb.retention.time
    [DEPRECATED]; docs/configuration/configuration.md: storage.tsdb.retention.time."""
    for stack, days in {"staging": 15, "production": 90}.items():
        run = runs[stack]
        assert not [f for f in run.container("prometheus").inputs["command"] if "retention" in f]
        config = yaml.safe_load(upload(run, "prometheus", "/etc/prometheus/prometheus.yml"))
        assert config["storage"]["tsdb"]["retention"] == {"time": f"{days}d"}


# -- MinIO bootstrap --------------------------------------------------------------------------

#: What quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z is known to ship (minio/minio
#: Dockerfile.release at that tag: ubi9-micro plus /usr/bin/{minio,mc,curl}; /bin/sh runs its
#: docker-entrypoint.sh). A script that needs anything else must not rely on it.
MC_STUB = r"""#!/bin/sh
{ printf 'mc'; for a in "$@"; do printf ' %s' "$a"; done; printf '\n'; } >> "$MC_LOG"
for a in "$@"; do
  if [ "$a" = /dev/stdin ]; then { printf 'stdin '; while IFS= read -r line; do printf '%s' "$line"; done; printf '\n'; } >> "$MC_LOG"; fi
done
"""


def run_minio_bootstrap(tmp_path: Path) -> list[str]:
    """The bootstrap as `docker exec -i ... sh -s` runs it, with `mc` the only program on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "mc").write_text(MC_STUB)
    (bin_dir / "mc").chmod(0o755)
    log = tmp_path / "mc.log"
    log.write_text("")
    env = {
        "PATH": str(bin_dir),
        "MC_LOG": str(log),
        "S3_ROOT_PASSWORD": "root-pw",
        "S3_PIPELINE_SECRET": "pipeline-pw",
        "S3_MLFLOW_SECRET": "mlflow-pw",
        "S3_BACKUP_SECRET": "backup-pw",
    }
    result = subprocess.run(["/bin/sh", "-s"], input=MINIO_BOOTSTRAP, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "not found" not in result.stderr, result.stderr
    return log.read_text().splitlines()


def test_minio_bootstrap_uses_only_programs_the_minio_image_ships(tmp_path):
    calls = run_minio_bootstrap(tmp_path)
    assert [c for c in calls if c.startswith("mc admin policy attach")] == [
        "mc admin policy attach local pipeline-rw --user pipeline",
        "mc admin policy attach local mlflow-rw --user mlflow",
        "mc admin policy attach local backup-rw --user backup",
    ]


def test_minio_bootstrap_is_the_same_sequence_of_idempotent_calls_on_every_run(tmp_path):
    """No guard: mc (>= RELEASE.2024-10-08, cmd/admin-policy-attach.go) ignores
    XMinioAdminPolicyChangeAlreadyApplied, `policy create` and `user add` overwrite, and
    `mb --ignore-existing` skips existing buckets."""
    first = run_minio_bootstrap(tmp_path)
    second = run_minio_bootstrap(tmp_path)
    assert first == second
    policies = [c for c in first if c.startswith("stdin ")]
    assert len(policies) == 3 and all('"Effect":"Allow"' in p for p in policies)
    assert 'arn:aws:s3:::pipeline-data/*' in policies[0] and 'arn:aws:s3:::mlflow-artifacts/*' in policies[1]
    assert 'arn:aws:s3:::pipeline-data/*' in policies[2] and 'arn:aws:s3:::mlflow-artifacts/*' in policies[2]  # backup


# -- pin evidence -----------------------------------------------------------------------------


def _images() -> list[str]:
    from infra.images import IMAGES

    return list(IMAGES)


@pytest.mark.parametrize("service", _images())
def test_every_pinned_image_names_where_its_tag_was_seen_published(service):
    lines = (REPO / "infra/images.py").read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line.strip().startswith(f'"{service}":'))
    block = [lines[i]]
    while i > 0 and lines[i - 1].strip().startswith("#"):
        i -= 1
        block.append(lines[i])
    assert re.search(r"#\s*published:\s*\S", "\n".join(block)), f"{service}: no `# published: <evidence>` comment"


def test_python_base_image_is_the_newest_verified_3_11_patch():
    """docker-library/official-images library/python (2026-08-21): "Tags: 3.11.16-slim-bookworm"."""
    for dockerfile in sorted(REPO.glob("app/*/Dockerfile")):
        if dockerfile.parent.name == "postgres":  # the official PostgreSQL image plus pgBackRest
            continue
        assert re.search(r"^FROM python:3\.11\.16-slim-bookworm$", dockerfile.read_text(), re.M), dockerfile
