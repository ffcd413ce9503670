"""The platform each stack declares, checked from the resources the real program registers."""

from __future__ import annotations

import hashlib
import re

import pytest

from infra.settings import check_pinned

from .harness import PROJECT, plain_strings, plain_text_secrets, run_stack

ALL_SERVICES = {
    "proxy", "postgres", "rabbitmq", "minio", "mlflow", "prometheus", "loki", "tempo",
    "mimir", "alloy", "grafana", "api", "processor", "ui", "node-exporter", "cadvisor", "postgres-exporter",
    "volume-usage", "alertmanager", "postgres-backup", "object-backup",
    "docker-gen", "socket-proxy", "socket-proxy-edge",
}  # fmt: skip
#: Joins the edge network without being public: it probes the certificates the proxy serves.
CERTIFICATE_PROBER = "blackbox"

HOST_TABLE = {
    "production": {
        "rabbitmq": "rabbitmq.mlops.dns64.de",
        "minio": "s3.mlops.iot64.de",
        "mlflow": "mlflow.mlops.iot64.de",
        "grafana": "monitoring.mlops.iot64.de",
        "api": "api.mlops.dns64.de",
        "ui": "app.mlops.dns64.de",
    },
    "staging": {
        "rabbitmq": "rabbitmq.staging.mlops.iot64.de",
        "minio": "s3.staging.mlops.iot64.de",
        "mlflow": "mlflow.staging.mlops.iot64.de",
        "grafana": "monitoring.staging.mlops.iot64.de",
        "api": "api.staging.mlops.dns64.de",
        "ui": "app.staging.mlops.dns64.de",
    },
}
PUBLIC_PORTS = {"rabbitmq": 15672, "minio": 9001, "mlflow": 5000, "grafana": 3000, "api": 8000, "ui": 8501}


def service_of(run, urn: str) -> str | None:
    """Map a dependency URN (container, bootstrap or fs-group command) to its service name."""
    name = urn.rsplit("::", 1)[1]
    prefix = f"{PROJECT}-{run.stack}-"
    if not name.startswith(prefix) or not (":Container::" in urn or ":Command::" in urn):
        return None
    rest = name[len(prefix) :].removesuffix("-bootstrap").removesuffix("-fs-group")
    return re.sub(r"-\d+$", "", rest)


def service_edges(run) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for cname, res in run.containers.items():
        svc = service_of(run, res.urn)
        deps = {service_of(run, u) for u in res.dependencies} - {None, svc}
        edges.setdefault(svc, set()).update(deps)
    return edges


def env_of(container) -> dict[str, str]:
    envs = container.inputs.get("envs") or []
    return dict(e.split("=", 1) for e in envs)


def expected_edges(stack: str) -> dict[str, set[str]]:
    edge = {"acme"} if stack != "dev" else {"proxy"}
    expected = {
        "socket-proxy": set(),
        "socket-proxy-edge": set(),
        "docker-gen": {"socket-proxy-edge"},
        "proxy": {"docker-gen"},
        "postgres": set(),
        "rabbitmq": edge,
        "minio": edge,
        "mlflow": {"postgres", "minio", "mlflow-migration"} | edge,  # the migration step waits for postgres and postgres-backup
        "prometheus": set(),
        "loki": set(),
        "tempo": set(),
        "mimir": set(),
        "alloy": {"socket-proxy"},
        "grafana": edge,
        "api": {"postgres", "rabbitmq"} | edge,
        "processor": {"postgres", "rabbitmq"},
        "ui": edge,
        "node-exporter": set(),
        "cadvisor": {"socket-proxy"},
        "postgres-exporter": {"postgres"},
        "volume-usage": set(),
        "alertmanager": set(),
        "postgres-backup": {"postgres"},
        "object-backup": {"minio", "rabbitmq"},
    }
    if stack != "dev":
        expected["acme"] = {"proxy", "socket-proxy-edge"}
        expected[CERTIFICATE_PROBER] = set()
    return expected


def test_every_service_has_a_container(run):
    services = {service_of(run, r.urn) for r in run.containers.values()}
    expected = ALL_SERVICES | ({"acme", CERTIFICATE_PROBER} if run.stack != "dev" else set())
    assert services == expected


def test_every_image_is_pinned(run):
    for image in run.of_type(":RemoteImage"):
        check_pinned(image.inputs["name"])  # raises on latest or a missing tag


def test_own_images_come_from_ghcr_by_owner_and_tag_on_server_stacks(runs):
    names = {r.inputs["name"] for r in runs["staging"].of_type(":RemoteImage")}
    for app in ("mlflow", "api", "processor", "ui", "postgres"):
        assert f"ghcr.io/iot64/mlops-{app}:0.1.0" in names


def test_dev_stack_builds_own_images_locally(runs):
    built = {r.inputs["imageName"].split(":")[0] for r in runs["dev"].of_type(":Image")}
    assert built == {f"{PROJECT}/{a}" for a in ("mlflow", "api", "processor", "ui", "postgres")}
    assert all(r.inputs["skipPush"] for r in runs["dev"].of_type(":Image"))


def test_processor_replica_count_comes_from_config(runs):
    assert len([c for c in runs["production"].containers if "-processor-" in c]) == 3
    assert len([c for c in runs["staging"].containers if "-processor-" in c]) == 2


def test_only_the_proxy_publishes_host_ports(run):
    for name, c in run.containers.items():
        ports = sorted(p["external"] for p in c.inputs.get("ports") or [])
        if name == f"{PROJECT}-{run.stack}-proxy":
            assert ports == [80, 443]
        else:
            assert ports == [], name


def test_backend_network_is_internal_and_edge_is_not(run):
    nets = {r.inputs["name"]: r for r in run.of_type(":Network")}
    assert nets[f"{PROJECT}-{run.stack}-backend"].inputs["internal"] is True
    assert not nets[f"{PROJECT}-{run.stack}-edge"].inputs.get("internal")


def networks_of(container) -> set[str]:
    return {n["name"].rsplit("-", 1)[1] for n in container.inputs["networksAdvanced"]}


def test_postgres_never_shares_a_network_with_the_proxy(run):
    assert networks_of(run.container("postgres")).isdisjoint(networks_of(run.container("proxy")))


def test_public_services_join_edge_and_private_ones_do_not(run):
    for svc in ALL_SERVICES - {"proxy", CERTIFICATE_PROBER}:
        nets = networks_of(run.containers[next(n for n in run.containers if service_of(run, run.containers[n].urn) == svc)])
        assert ("edge" in nets) == (svc in PUBLIC_PORTS), svc


def test_edge_aliases_are_unique_per_stack(run):
    for name, c in run.containers.items():
        for net in c.inputs["networksAdvanced"]:
            if net["name"].endswith("-edge"):
                assert net["aliases"] == [name]


def test_public_services_carry_proxy_routing(run):
    hosts = HOST_TABLE.get(run.stack)
    for svc, port in PUBLIC_PORTS.items():
        env = env_of(run.container(svc))
        assert env["VIRTUAL_PORT"] == str(port)
        if hosts:
            assert env["VIRTUAL_HOST"] == hosts[svc]
            assert env["LETSENCRYPT_HOST"] == hosts[svc]
        else:
            assert env["VIRTUAL_HOST"].endswith(".localhost")
            assert "LETSENCRYPT_HOST" not in env


def test_postgres_and_prometheus_stay_private(run):
    for svc in ("postgres", "prometheus"):
        assert "VIRTUAL_HOST" not in env_of(run.container(svc))


def test_startup_edges_are_exactly_what_the_order_needs(run):
    assert service_edges(run) == expected_edges(run.stack)


def test_proxy_starts_before_every_public_service_transitively(run):
    edges = service_edges(run)

    def reaches(svc, target, seen=()):
        out = edges.get(svc, set())  # a step (a migration) has no container and no edges of its own
        return target in out or any(reaches(d, target, seen + (svc,)) for d in out if d not in seen)

    for svc in PUBLIC_PORTS:
        assert reaches(svc, "proxy"), svc


def test_mlflow_and_apps_wait_for_database_bootstrap(run):
    boot = f"{PROJECT}-{run.stack}-postgres-bootstrap"
    for svc in ("mlflow", "api"):
        assert any(u.endswith("::" + boot) for u in run.container(svc).dependencies), svc
    assert any(u.endswith(f"::{PROJECT}-{run.stack}-minio-bootstrap") for u in run.container("mlflow").dependencies)


@pytest.mark.parametrize("svc", ["postgres", "rabbitmq", "minio", "mlflow", "api"])
def test_dependencies_have_healthchecks_and_are_waited_for(run, svc):
    c = run.container(svc)
    assert c.inputs["healthcheck"]["tests"][0] == "CMD"
    assert c.inputs["wait"] is True


def test_postgres_healthcheck_uses_tcp_so_it_fails_during_init(run):
    assert "127.0.0.1" in run.container("postgres").inputs["healthcheck"]["tests"]


#: Volumes whose content is rebuilt on its own: not worth protecting.
STATELESS_VOLUMES = {"proxy-html", "proxy-conf", "metrics-textfile", "postgres-run"}


def test_stateful_volumes_are_protected_and_retained_in_production(runs):
    vols = {v.name.removeprefix(f"{PROJECT}-production-"): v for v in runs["production"].of_type(":Volume")}
    stateful = {k: v for k, v in vols.items() if k not in STATELESS_VOLUMES}
    assert set(stateful) >= {
        "postgres", "rabbitmq", "minio", "grafana", "prometheus", "loki", "tempo", "mimir", "certs",
    }  # fmt: skip
    assert all(v.protect and v.retain_on_delete for v in stateful.values())
    assert not any(vols[k].protect for k in STATELESS_VOLUMES)


@pytest.mark.parametrize("stack", ["staging", "dev"])
def test_volumes_are_not_protected_outside_production(runs, stack):
    volumes = runs[stack].of_type(":Volume")
    assert volumes and not any(v.protect or v.retain_on_delete for v in volumes)


#: The only services that see host paths: the Docker socket (its proxies only), or the host itself for metrics.
HOST_MOUNTS = {"socket-proxy", "socket-proxy-edge", "node-exporter", "cadvisor", "volume-usage"}


def test_every_volume_mount_names_a_stack_volume(run):
    names = {v.inputs["name"] for v in run.of_type(":Volume")}
    for c in run.containers.values():
        for m in c.inputs.get("volumes") or []:
            assert m.get("volumeName") in names or "hostPath" in m, m


def test_host_paths_are_mounted_read_only_and_only_where_needed(run):
    assert any("hostPath" in m for c in run.containers.values() for m in c.inputs.get("volumes") or [])
    for c in run.containers.values():
        host = [m for m in c.inputs.get("volumes") or [] if "hostPath" in m]
        if host:
            assert service_of(run, c.urn) in HOST_MOUNTS, c.name
            assert all(m.get("readOnly") for m in host), c.name


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_urls_output_equals_the_host_table(runs, stack):
    urls = runs[stack].output("urls")
    expected = {svc: f"https://{host}/" for svc, host in HOST_TABLE[stack].items()}
    expected["api_docs"] = f"https://{HOST_TABLE[stack]['api']}/docs"
    assert urls == expected


def test_dev_urls_are_plain_http_localhost(runs):
    urls = runs["dev"].output("urls")
    assert urls["api"] == "http://api.localhost/" and urls["mlflow"] == "http://mlflow.localhost/"


def test_outputs_name_networks_and_images(run):
    nets = ("backend", "edge", "egress", "dockerapi", "dockeredge")
    assert run.output("networks") == {net: f"{PROJECT}-{run.stack}-{net}" for net in nets}
    assert run.output("images")["rabbitmq"].startswith("rabbitmq:")


def test_credentials_output_is_secret(run):
    assert plain_strings(run.outputs_raw["credentials"]) == []


def test_no_generated_secret_appears_in_plain_text(run):
    assert plain_text_secrets(run) == []


def test_mlflow_and_ui_get_basic_auth_at_the_proxy(runs):
    uploads = {u["file"] for u in runs["staging"].container("proxy").inputs["uploads"]}
    assert "/etc/nginx/htpasswd/mlflow.staging.mlops.iot64.de" in uploads
    assert "/etc/nginx/htpasswd/app.staging.mlops.dns64.de" in uploads
    assert "/etc/nginx/htpasswd/api.staging.mlops.dns64.de" not in uploads  # bearer token instead


def test_staging_uses_the_lets_encrypt_staging_ca(runs):
    assert "acme-staging" in env_of(runs["staging"].container("acme"))["ACME_CA_URI"]
    assert "ACME_CA_URI" not in env_of(runs["production"].container("acme"))


def test_external_proxy_network_replaces_the_own_proxy():
    run = run_stack("staging", {"acmeEmail": "ops@iot64.de", "externalProxyNetwork": "shared-proxy"})
    gone = {f"{PROJECT}-staging-{svc}" for svc in ("proxy", "acme", "docker-gen", "socket-proxy-edge")}
    assert not gone & set(run.containers)
    assert run.container("socket-proxy")  # Alloy and cAdvisor still reach Docker through it
    assert not any(r.inputs["name"].endswith("-edge") for r in run.of_type(":Network"))
    nets = {n["name"] for n in run.container("api").inputs["networksAdvanced"]}
    assert "shared-proxy" in nets


@pytest.mark.parametrize("svc", ["postgres", "minio"])
def test_bootstrap_reruns_when_container_script_or_a_secret_it_applies_changes(run, svc):
    from infra.services.data.minio import MINIO_BOOTSTRAP
    from infra.services.data.postgres import POSTGRES_BOOTSTRAP

    script = {"postgres": POSTGRES_BOOTSTRAP, "minio": MINIO_BOOTSTRAP}[svc]
    boot = next(r for r in run.of_type(":Command") if r.name == f"{PROJECT}-{run.stack}-{svc}-bootstrap")
    env = boot.inputs["environment"]
    secrets = [env[k] for k in sorted(env) if k != "DOCKER_HOST"]  # docs/rotating-secrets.md
    assert boot.inputs["triggers"] == [f"{PROJECT}-{run.stack}-{svc}-id", hashlib.sha256(script.encode()).hexdigest(), *secrets]
    assert plain_strings(boot.raw["triggers"]) == [f"{PROJECT}-{run.stack}-{svc}-id", hashlib.sha256(script.encode()).hexdigest()]
    assert boot.inputs["stdin"] == script
    assert boot.inputs["create"].startswith("docker exec -i ")


@pytest.fixture(scope="module")
def external_proxy_run():
    return run_stack("staging", {"acmeEmail": "ops@iot64.de", "externalProxyNetwork": "shared-proxy"})


def test_external_proxy_mode_exports_every_file_the_shared_proxy_must_serve(external_proxy_run):
    files = external_proxy_run.output("proxyFiles")
    hosts = HOST_TABLE["staging"]
    assert {f"/etc/nginx/vhost.d/{h}" for h in hosts.values()} <= set(files)
    assert {p for p in files if "/htpasswd/" in p} == {
        f"/etc/nginx/htpasswd/{hosts['mlflow']}", f"/etc/nginx/htpasswd/{hosts['ui']}",
    }  # fmt: skip
    assert "location = /metrics { return 404; }" in files[f"/etc/nginx/vhost.d/{hosts['api']}"]
    assert files[f"/etc/nginx/htpasswd/{hosts['mlflow']}"].startswith("mlops:$2a$")


def test_proxy_files_output_is_secret(external_proxy_run):
    assert plain_strings(external_proxy_run.outputs_raw["proxyFiles"]) == []


def test_proxy_files_output_is_what_the_own_proxy_is_given(runs):
    """Our edge is nginx + docker-gen sharing conf.d: docker-gen gets every file (the http-level one
    lands in the shared volume), nginx the per-host ones."""
    uploads = {u["file"]: u["content"] for u in runs["staging"].container("docker-gen").inputs["uploads"]}
    nginx = {u["file"] for u in runs["staging"].container("proxy").inputs["uploads"]}
    assert nginx == {p for p in uploads if not p.startswith("/etc/nginx/conf.d/")}
    files = runs["staging"].output("proxyFiles")
    assert files and all(uploads.get(path) == content for path, content in files.items())
