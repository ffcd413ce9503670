"""The policy pack's rules: each rejects what it should, and every shipped stack passes them all."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policy"))
import rules  # noqa: E402

C = rules.CONTAINER


def test_a_non_proxy_container_with_host_ports_is_rejected():
    props = {"name": "db", "ports": [{"internal": 5432, "external": 5432}], "labels": []}
    assert rules.only_proxy_publishes_ports(C, props, "staging")


def test_the_proxy_may_publish_host_ports():
    props = {"name": "proxy", "ports": [{"internal": 80}], "labels": [{"label": rules.PROXY_LABEL, "value": "true"}]}
    assert rules.only_proxy_publishes_ports(C, props, "staging") == []


@pytest.mark.parametrize("name", ["postgres", "postgres:latest", "ghcr.io/x/api"])
def test_unpinned_images_are_rejected(name):
    assert rules.images_are_pinned(rules.REMOTE_IMAGE, {"name": name}, "staging")


@pytest.mark.parametrize("name", ["postgres:18.6", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "x/y@sha256:" + "a" * 64])
def test_pinned_images_pass(name):
    assert rules.images_are_pinned(rules.REMOTE_IMAGE, {"name": name}, "staging") == []


def test_postgres_on_the_edge_network_is_rejected():
    props = {"name": "pg", "labels": [{"label": "mlops.service", "value": "postgres"}], "networksAdvanced": [{"name": "p-edge"}, {"name": "p-backend"}]}
    assert rules.postgres_stays_off_the_edge(C, props, "staging")


def test_a_non_internal_backend_network_is_rejected():
    assert rules.backend_network_is_internal("docker:index/network:Network", {"name": "x-backend", "internal": False}, "staging")


def test_a_public_service_without_certificate_is_rejected_on_tls_stacks():
    props = {"name": "api", "envs": ["VIRTUAL_HOST=api.example.org"]}
    assert rules.public_services_are_routed_over_https(C, props, "staging")
    assert rules.public_services_are_routed_over_https(C, props, "dev") == []


@pytest.mark.parametrize("host,rejected", [("api.ci.localhost", False), ("localhost", False),
                                           ("api.localhost.example.org", True), ("api.ci.localhost,api.example.org", True)])  # fmt: skip
def test_a_host_under_localhost_needs_no_certificate_on_any_stack(host, rejected):
    """RFC 6761 section 6.3: `localhost` and names under it resolve to loopback only, so no CA can validate
    them; the `ci` stacks serve such hosts over plain HTTP."""
    props = {"name": "api", "envs": [f"VIRTUAL_HOST={host}"]}
    assert bool(rules.public_services_are_routed_over_https(C, props, "ci")) is rejected


def test_a_public_service_without_certificate_is_rejected_as_the_policy_sdk_passes_it():
    """pulumi-policy hands rules Mapping/Sequence proxies (pulumi_policy/proxy.py), not dicts and lists."""
    from pulumi_policy.proxy import unknown_checking_proxy

    props = unknown_checking_proxy({"name": "api", "envs": ["VIRTUAL_HOST=api.example.org"]})
    assert rules.public_services_are_routed_over_https(C, props, "staging")


def test_unprotected_production_volume_is_rejected():
    assert rules.volumes_protected_in_production([{"name": "pg", "stateful": True, "protect": False}], "production")
    assert rules.volumes_protected_in_production([{"name": "pg", "stateful": True, "protect": False}], "staging") == []


def test_every_shipped_stack_passes_every_rule(run):
    for res in run.resources:
        for name, (_, rule) in rules.RULES.items():
            assert rule(res.type, res.inputs, run.stack) == [], (name, res.name)
    volumes = [
        {"name": v.name, "stateful": rules.is_stateful_volume(v.inputs), "protect": v.protect} for v in run.of_type(":Volume")
    ]
    assert rules.volumes_protected_in_production(volumes, run.stack) == []


def test_volumes_are_stateful_unless_labelled_otherwise():
    label = lambda v: {"labels": [{"label": "mlops.stateful", "value": v}]}  # noqa: E731
    assert rules.is_stateful_volume({"name": "pg"})
    assert rules.is_stateful_volume(label("true"))
    assert not rules.is_stateful_volume(label("false"))


def test_a_writable_host_path_is_rejected():
    props = {"name": "agent", "volumes": [{"hostPath": "/", "containerPath": "/host", "readOnly": False}]}
    assert rules.host_paths_are_read_only(C, props, "staging")
    props["volumes"][0]["readOnly"] = True
    assert rules.host_paths_are_read_only(C, props, "staging") == []


# -- hardening (issue 12 part 2) ---------------------------------------------------------------


def hardened(**extra) -> dict:
    """A container with every hardening setting in place; tests break one at a time."""
    props = {
        "name": "svc",
        "labels": [{"label": "mlops.service", "value": "svc"}],
        "privileged": False,
        "securityOpts": ["no-new-privileges:true"],
        "capabilities": {"drops": ["ALL"]},
        "readOnly": True,
        "user": "10001",
        "memory": 256,
        "memorySwap": 256,
        "volumes": [],
    }
    props.update(extra)
    return props


HARDENING_RULES = ["docker-socket-only-in-proxy", "not-privileged", "no-new-privileges", "capabilities-dropped",
                   "read-only-root", "non-root", "memory-limited"]  # fmt: skip


def rule(name):
    return rules.RULES[name][1]


def exception(key: str, reason: str = "a stated reason") -> dict:
    return {"label": f"mlops.exception.{key}", "value": reason}


def test_a_hardened_container_passes_every_hardening_rule():
    for name in HARDENING_RULES:
        assert rule(name)(C, hardened(), "staging") == [], name


@pytest.mark.parametrize(
    "socket",
    [
        {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/tmp/docker.sock", "readOnly": True}]},
        {"mounts": [{"type": "bind", "source": "/run/docker.sock", "target": "/var/run/docker.sock", "readOnly": True}]},
        {"volumes": [{"hostPath": "/var/run", "containerPath": "/host-run", "readOnly": True}], "user": "0"},
        {"mounts": [{"type": "bind", "source": "/", "target": "/rootfs", "readOnly": True}], "user": "0:0"},
    ],
)
def test_a_container_that_mounts_the_docker_socket_is_rejected(socket):
    assert rule("docker-socket-only-in-proxy")(C, hardened(**socket), "staging")


def test_only_the_socket_proxies_may_mount_the_docker_socket():
    volumes = [{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock", "readOnly": True}]
    for service in rules.SOCKET_PROXIES:
        props = hardened(volumes=volumes, labels=[{"label": "mlops.service", "value": service}])
        assert rule("docker-socket-only-in-proxy")(C, props, "staging") == []


def test_a_non_root_container_may_read_the_host_root_but_root_may_not():
    """The socket is root:docker 0660: only a root process can open it through a mounted `/`."""
    mounts = [{"type": "bind", "source": "/", "target": "/host", "readOnly": True}]
    assert rule("docker-socket-only-in-proxy")(C, hardened(mounts=mounts, user="65534"), "staging") == []
    root = hardened(mounts=mounts, user="0", labels=[exception("user")])
    assert rule("docker-socket-only-in-proxy")(C, root, "staging")


def test_root_may_bind_a_directory_holding_the_runtime_sockets_only_with_a_stated_reason():
    """cAdvisor's upstream run binds host `/` and `/var/run` (google/cadvisor README.md at v0.57.0), where Docker's
    and containerd's sockets live; containerd's it must use on the containerd image store."""
    mounts = [{"type": "bind", "source": "/", "target": "/rootfs", "readOnly": True}]
    volumes = [{"hostPath": "/var/run", "containerPath": "/var/run", "readOnly": True}]
    bare = hardened(mounts=mounts, volumes=volumes, user="0", labels=[exception("user")])
    assert len(rule("docker-socket-only-in-proxy")(C, bare, "staging")) == 2
    stated = hardened(mounts=mounts, volumes=volumes, user="0", labels=[exception("user"), exception("runtime_sockets")])
    assert rule("docker-socket-only-in-proxy")(C, stated, "staging") == []


def test_a_stated_reason_never_admits_the_docker_socket_itself():
    volumes = [{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock", "readOnly": True}]
    props = hardened(volumes=volumes, user="0", labels=[exception("user"), exception("runtime_sockets")])
    assert rule("docker-socket-only-in-proxy")(C, props, "staging")


def test_only_cadvisor_states_a_reason_to_reach_the_runtime_sockets(run):
    stating = {rules._labels(c.inputs)["mlops.service"] for c in run.containers.values()
               if rules._exception(c.inputs, "runtime_sockets")}  # fmt: skip
    assert stating == {"cadvisor"}


def test_a_privileged_container_is_rejected():
    assert rule("not-privileged")(C, hardened(privileged=True), "staging")


@pytest.mark.parametrize("opts", [None, [], ["seccomp=unconfined"], ["no-new-privileges:false"]])
def test_a_container_without_no_new_privileges_is_rejected(opts):
    assert rule("no-new-privileges")(C, hardened(securityOpts=opts), "staging")


@pytest.mark.parametrize("caps", [None, {}, {"drops": ["NET_RAW"]}, {"adds": ["SYS_ADMIN"]}])
def test_a_container_keeping_default_capabilities_is_rejected(caps):
    assert rule("capabilities-dropped")(C, hardened(capabilities=caps), "staging")


def test_added_capabilities_need_a_stated_reason():
    caps = {"drops": ["ALL"], "adds": ["SYSLOG"]}
    assert rule("capabilities-dropped")(C, hardened(capabilities=caps), "staging")
    assert rule("capabilities-dropped")(C, hardened(capabilities=caps, labels=[exception("cap_add")]), "staging") == []


def test_a_writable_root_needs_a_stated_reason():
    assert rule("read-only-root")(C, hardened(readOnly=False), "staging")
    assert rule("read-only-root")(C, hardened(readOnly=False, labels=[exception("read_only")]), "staging") == []
    assert rule("read-only-root")(C, hardened(readOnly=False, labels=[exception("read_only", " ")]), "staging")


@pytest.mark.parametrize("user", [None, "", "0", "0:0", "root", "root:root"])
def test_root_needs_a_stated_reason(user):
    assert rule("non-root")(C, hardened(user=user), "staging")
    assert rule("non-root")(C, hardened(user=user, labels=[exception("user")]), "staging") == []


def test_an_image_user_recorded_by_the_catalog_counts_as_non_root():
    image_user = [{"label": "mlops.image-user", "value": "nobody"}]
    assert rule("non-root")(C, hardened(user=None, labels=image_user), "staging") == []
    assert rule("non-root")(C, hardened(user="0", labels=image_user), "staging")  # an explicit root user wins


@pytest.mark.parametrize("memory", [{"memory": None}, {"memory": 0}, {"memory": 256, "memorySwap": 512}])
def test_a_container_without_a_memory_limit_is_rejected(memory):
    assert rule("memory-limited")(C, hardened(**memory), "staging")


def test_every_exception_of_a_shipped_stack_carries_its_reason(run):
    for c in run.containers.values():
        labels = rules._labels(c.inputs)
        for key, reason in labels.items():
            if key.startswith(rules.EXCEPTION_LABEL):
                assert reason.strip() and "\n" not in reason, (c.name, key)


def test_no_container_of_a_shipped_stack_but_the_socket_proxies_mounts_the_docker_socket(run):
    holders = set()
    for c in run.containers.values():
        paths = [v.get("hostPath") or "" for v in c.inputs.get("volumes") or []]
        paths += [m.get("source") or "" for m in c.inputs.get("mounts") or []]
        if any(p.endswith("docker.sock") for p in paths):
            holders.add(rules._labels(c.inputs)["mlops.service"])
    assert holders == set(rules.SOCKET_PROXIES)


# -- image facts: TLS clients and volume writers ---------------------------------------------------------------
S3_REPO = "[global]\nrepo1-type=s3\nrepo1-s3-endpoint=s3.example.org\nrepo1-storage-verify-tls=y\n"


def _with_image(key: str, **props) -> dict:
    return {"name": "c", "labels": [{"label": rules.IMAGE_LABEL, "value": key}], **props}


def test_a_tls_client_in_an_image_without_a_ca_bundle_is_rejected():
    """The official postgres image purges its CA bundle: pgBackRest there cannot verify an S3 target."""
    props = _with_image("postgres", uploads=[{"file": "/etc/pgbackrest/pgbackrest.conf", "content": S3_REPO}])
    (problem,) = rules.tls_clients_have_ca_certificates(C, props, "staging")
    assert "pgBackRest" in problem and "has none" in problem


def test_a_tls_client_given_its_ca_file_needs_no_bundle_but_the_file_must_be_uploaded():
    conf = {"file": "/etc/pgbackrest/pgbackrest.conf", "content": S3_REPO + "repo1-storage-ca-file=/etc/ca.pem\n"}
    assert rules.tls_clients_have_ca_certificates(C, _with_image("postgres", uploads=[conf]), "staging")
    given = _with_image("postgres", uploads=[conf, {"file": "/etc/ca.pem", "content": "PEM"}])
    assert rules.tls_clients_have_ca_certificates(C, given, "staging") == []


def test_rclone_against_an_https_endpoint_counts_as_a_tls_client():
    conf = {"file": "/etc/rclone/rclone.conf", "content": "[target]\ntype = s3\nendpoint = https://s3.example.org\n"}
    assert rules.tls_clients(_with_image("rclone/rclone", uploads=[conf])) == [("rclone (/etc/rclone/rclone.conf)", None)]
    assert rules.tls_clients_have_ca_certificates(C, _with_image("rclone/rclone", uploads=[conf]), "staging") == []


def _writer(name: str, key: str, volume: str, path: str, user: str | None = None, read_only: bool = False) -> tuple:
    props = _with_image(key, name=name, volumes=[{"volumeName": volume, "containerPath": path, "readOnly": read_only}])
    return C, {**props, **({"user": user} if user else {})}


def test_a_non_root_writer_of_a_volume_its_image_lacks_is_rejected():
    """postgres-backup (999:999) and the metrics volume no image has: Docker creates it root:root 0755."""
    resources = [_writer("backup", "app/postgres", "m", "/textfile", "999:999"), _writer("usage", "busybox", "m", "/textfile")]
    (problem,) = rules.non_root_writers_own_their_volumes(resources)
    assert "'backup' runs as 999:999" in problem and "0:0 755" in problem


def test_a_non_root_writer_passes_once_an_fs_group_command_gives_the_volume_to_its_group():
    resources = [_writer("backup", "app/postgres", "m", "/textfile", "999:999")]
    init = "docker run --rm --user 0 --network none --entrypoint sh -v m:/textfile sha256:x -c 'chgrp 999 /textfile && chmod g+rwxs /textfile'"
    assert rules.non_root_writers_own_their_volumes([*resources, (rules.COMMAND, {"create": init})]) == []


def test_a_non_root_writer_of_its_own_image_directory_passes():
    assert rules.non_root_writers_own_their_volumes([_writer("prom", "prom/prometheus", "p", "/prometheus")]) == []


def test_every_shipped_stack_passes_the_volume_writer_rule(run):
    assert rules.non_root_writers_own_their_volumes([(r.type, r.inputs) for r in run.resources]) == []


def test_without_its_fs_group_command_postgres_backup_could_not_write_its_metrics(runs):
    """The stack as it was before fs_group: postgres-backup (999:999) and the metrics volume Docker creates
    root:root 0755; on dev PostgreSQL's archive-push and the local /backups volume too."""
    for stack, writers in (("staging", {"postgres-backup"}), ("dev", {"postgres-backup", "postgres"})):
        resources = [(r.type, r.inputs) for r in runs[stack].resources if not r.name.endswith("-fs-group")]
        problems = rules.non_root_writers_own_their_volumes(resources)
        assert {re.search(r"container '[\w-]+?-(postgres(?:-backup)?)'", p).group(1) for p in problems} == writers, problems


def test_the_image_fact_rules_read_properties_as_the_policy_sdk_passes_them():
    """pulumi-policy hands rules Mapping/Sequence proxies (pulumi_policy/proxy.py), not dicts and lists."""
    from pulumi_policy.proxy import unknown_checking_proxy

    props = unknown_checking_proxy(_with_image("postgres", uploads=[{"file": "/etc/pgbackrest/pgbackrest.conf", "content": S3_REPO}]))
    assert rules.tls_clients_have_ca_certificates(C, props, "staging")
    rtype, writer = _writer("backup", "app/postgres", "m", "/textfile", "999:999")
    assert rules.non_root_writers_own_their_volumes([(rtype, unknown_checking_proxy(writer))])
