"""Every shipped stack renders only what its pinned upstream programs accept.

For the programs that cannot run here (Loki, Tempo, Mimir, Alloy, Grafana, cAdvisor, nginx-proxy,
acme-companion, MinIO), each rendered config file, command-line flag and environment variable of
the catalog is looked up in the program's fixture (read from upstream at the pinned tag), and every
healthcheck and bootstrap command must exist in its image.
"""

from __future__ import annotations

import functools
import re

import pytest
import yaml

from infra.assembly import offline_catalog
from infra.services.data import minio
from infra.images import IMAGES
from infra.catalog.model import ConfigFile, ServiceSpec
from infra.targets.docker.components import routing_env
from infra.configs import observability as obs_cfg
from infra.settings import parse_settings
from tests.infra.harness import PROJECT, stack_file_config

from . import contracts as c

STACKS = ("dev", "staging", "production")


@functools.cache
def stack(name: str):
    raw = {k.split(":", 1)[1]: v for k, v in stack_file_config(name).items() if k.startswith(f"{PROJECT}:")}
    return offline_catalog(name, raw)


def services_of(program: str):
    for name in STACKS:
        settings, catalog = stack(name)
        for spec in catalog.services.values():
            if c.program_of(spec) == program:
                yield name, settings, catalog, spec


def text_files(spec: ServiceSpec, *suffixes: str) -> list[ConfigFile]:
    """Rendered files with plain content (secret files are Outputs and carry no keys to check)."""
    return [f for f in spec.files if isinstance(f.content, str) and f.path.endswith(suffixes)]


# ----------------------------------------------------------------- per-program checks


def check_yaml_program(program: str, where: str, spec: ServiceSpec) -> list[str]:
    problems = [f"{where}: flag {f}" for f in c.unknown_flags(program, spec.command)]
    for file in text_files(spec, ".yaml", ".yml"):
        problems += [f"{where}: {file.path}: {key}" for key in c.unknown_config_keys(program, yaml.safe_load(file.content))]
    return problems + [f"{where}: env {n}" for n in c.unknown_env(program, {**spec.env, **spec.secret_env})]


def check_alloy(where: str, spec: ServiceSpec) -> list[str]:
    problems = [f"{where}: flag {f}" for f in c.unknown_flags("alloy", spec.command)]
    for file in text_files(spec, ".alloy"):
        problems += [f"{where}: {file.path}: {x}" for x in c.unknown_alloy(file.content)]
    return problems


def check_grafana(where: str, spec: ServiceSpec) -> list[str]:
    problems = [f"{where}: env {n}" for n in c.unknown_env("grafana", {**spec.env, **spec.secret_env})]
    provisioning = c.fixture("grafana")["provisioning"]
    for kind in ("datasources", "dashboards"):
        for file in text_files(spec, ".yaml", ".yml"):
            if f"/provisioning/{kind}/" in file.path:
                rules = provisioning[kind]
                bad = c.unknown_keys(yaml.safe_load(file.content), rules["keys"], rules["open"])
                problems += [f"{where}: {file.path}: {key}" for key in bad]
    return problems


def check_flags(program: str, where: str, spec: ServiceSpec) -> list[str]:
    return [f"{where}: flag {f}" for f in c.unknown_flags(program, spec.command)]


def check_proxy(where: str, spec: ServiceSpec, settings, catalog) -> list[str]:
    contract = c.fixture("nginx-proxy")
    problems = [f"{where}: env {n}" for n in c.unknown_env("nginx-proxy", {**spec.env, **spec.secret_env})]
    # The proxy and the companion read their routes from these variables on each public container.
    read = set(contract["container_env"]) | set(c.fixture("acme-companion")["container_env"])
    for public in catalog.public().values():
        problems += [f"{where}: {public.name} routing env {n}" for n in routing_env(settings, public) if n not in read]
    hosts = set(settings.public_hosts.values())
    templates = [contract["files"][k] for k in ("vhost", "vhost_location", "htpasswd")]
    conf_d = re.escape(contract["files"]["conf_d"]).replace(re.escape("{name}"), r"(?!default\.conf$)[\w.-]+")
    for file in spec.files:
        per_host = any(file.path in {t.format(host=h) for h in hosts} for t in templates)
        if not per_host and not re.fullmatch(conf_d, file.path):
            problems.append(f"{where}: {file.path}: neither a per-host file nor a conf.d snippet nginx-proxy reads")
    mounts = {m.path for m in spec.mounts}
    for key in ("certs", "html"):
        if contract["files"][key] not in mounts:
            problems.append(f"{where}: {contract['files'][key]} not mounted")
    # docker-gen reads the Docker API from DOCKER_HOST (a variable the fixture lists): the socket proxy
    # over TCP, or the socket itself at the image's default path.
    if not spec.env.get("DOCKER_HOST", "").startswith("tcp://") and contract["files"]["docker_socket"] not in mounts:
        problems.append(f"{where}: neither DOCKER_HOST nor {contract['files']['docker_socket']}")
    return problems


def check_acme(where: str, spec: ServiceSpec, settings, catalog) -> list[str]:
    contract = c.fixture("acme-companion")
    problems = [f"{where}: env {n}" for n in c.unknown_env("acme-companion", {**spec.env, **spec.secret_env})]
    problems += [f"{where}: mount {m.path}" for m in spec.mounts if m.path not in contract["volumes"]]
    proxy = catalog.services["proxy"]
    if proxy.labels.get(contract["proxy_label"]) != "true":
        problems.append(f"{where}: the proxy lacks the label {contract['proxy_label']} the companion looks for")
    return problems


def check_minio(where: str, spec: ServiceSpec) -> list[str]:
    contract = c.fixture("minio")
    problems = [f"{where}: {x}" for x in c.unknown_flags("minio", spec.command)]
    problems += [f"{where}: env {n}" for n in c.unknown_env("minio", {**spec.env, **spec.secret_env})]
    if spec.metrics and spec.metrics.path not in contract["metrics_paths"]:
        problems.append(f"{where}: metrics path {spec.metrics.path}")
    return problems


def problems_of(program: str) -> tuple[int, list[str]]:
    seen, problems = 0, []
    for stack_name, settings, catalog, spec in services_of(program):
        seen += 1
        where = f"{stack_name}/{spec.name}"
        if program in ("loki", "tempo", "mimir"):
            problems += check_yaml_program(program, where, spec)
        elif program == "alloy":
            problems += check_alloy(where, spec)
        elif program == "grafana":
            problems += check_grafana(where, spec)
        elif program == "cadvisor":
            problems += check_flags(program, where, spec)
        elif program == "nginx-proxy":
            problems += check_proxy(where, spec, settings, catalog)
        elif program == "acme-companion":
            problems += check_acme(where, spec, settings, catalog)
        elif program == "minio":
            problems += check_minio(where, spec)
    return seen, problems


@pytest.mark.parametrize("program", c.CONTRACT_PROGRAMS)
def test_rendered_inputs_are_accepted_by_the_pinned_program(program):
    seen, problems = problems_of(program)
    assert seen, f"no service of any shipped stack runs {program}: drop its fixture or fix the image match"
    assert not problems, f"{program} would not accept:\n" + "\n".join(problems)


#: Issue 9, defect 2: ghcr.io has no `v0.56.2` tag. Engineer 9a owns the cAdvisor pin and moves it to v0.57.0,
#: which this fixture was read for; once that pin is merged this case runs as a normal test.
CADVISOR_REPIN = pytest.mark.xfail(
    IMAGES["cadvisor"].endswith(":v0.56.2"), strict=True, reason="issue 9 defect 2 (cAdvisor re-pin by engineer 9a)"
)


@pytest.mark.parametrize(
    "program", [pytest.param(p, marks=CADVISOR_REPIN) if p == "cadvisor" else p for p in c.CONTRACT_PROGRAMS]
)
def test_fixture_version_is_the_pinned_tag(program):
    contract = c.fixture(program)
    pinned = [image for image in IMAGES.values() if c.repository(image) == contract["image"]]
    assert len(pinned) == 1, f"{program}: no single pinned image {contract['image']} in infra/images.py"
    # nginx-proxy publishes its docker-gen flavour as `<version>-dockergen` (.github/workflows/build-publish.yml).
    assert c.same_version(c.tag(pinned[0]).removesuffix("-dockergen"), contract["version"]), (
        f"{program}: pinned {pinned[0]} but the fixture was read for {contract['version']}: re-read upstream at the new tag"
    )


def test_every_pinned_image_has_its_executables_recorded():
    """A new image needs a contract fixture or an entry in fixtures/images.yaml before its
    healthcheck or bootstrap can be checked."""
    recorded = set(yaml.safe_load((c.FIXTURES / "images.yaml").read_text())["images"])
    recorded |= {c.fixture(p)["image"] for p in c.CONTRACT_PROGRAMS}
    missing = sorted(image for image in IMAGES.values() if c.repository(image) not in recorded)
    assert not missing, f"no upstream record for {missing}"


# ----------------------------------------------------------------- executables in images


def all_services() -> dict[str, ServiceSpec]:
    """Every service of every shipped stack, by name (same image and commands on each stack)."""
    out: dict[str, ServiceSpec] = {}
    for name in STACKS:
        out.update(stack(name)[1].services)
    return dict(sorted(out.items()))


def missing_executables(spec: ServiceSpec, commands: list[str]) -> list[str]:
    binaries = c.image_binaries(spec)
    assert binaries is not None, f"{spec.name}: the executables of {spec.image} were never read from its Dockerfile"
    return [cmd for cmd in commands if cmd not in binaries and cmd.rsplit("/", 1)[-1] not in binaries]


@pytest.mark.parametrize("name", [n for n, s in all_services().items() if s.healthcheck])
def test_healthcheck_executable_exists_in_the_image(name):
    spec = all_services()[name]
    missing = missing_executables(spec, c.healthcheck_executables(spec))
    assert not missing, f"{name}: healthcheck runs {missing}, which {spec.image} does not ship"


#: Issue 9, defect 7: the MinIO bootstrap guard pipes into `grep`, which the ubi-micro based image
#: lacks. Engineer 9a rewrites the script; once `grep` is gone this case runs as a normal test.
MINIO_GREP = pytest.mark.xfail(
    re.search(r"\bgrep\b", minio.MINIO_BOOTSTRAP) is not None, strict=True, reason="issue 9 defect 7 (grep in MinIO)"
)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=MINIO_GREP) if n == "minio" else n for n, s in all_services().items() if s.bootstrap],
)
def test_bootstrap_commands_exist_in_the_image(name):
    spec = all_services()[name]
    missing = missing_executables(spec, c.bootstrap_executables(spec))
    assert not missing, f"{name}: bootstrap runs {missing}, which {spec.image} does not ship"


# ----------------------------------------------------------------- the checker catches what it must


def tempo_doc() -> dict:
    return yaml.safe_load(obs_cfg.tempo_config(parse_settings("dev", {"tls": False})))


def test_checker_rejects_an_unknown_tempo_key():
    doc = tempo_doc()
    doc["storage"]["trace"]["locall"] = {"path": "/var/tempo/traces"}
    assert c.unknown_config_keys("tempo", doc) == ["storage.trace.locall", "storage.trace.locall.path"]


def test_checker_rejects_an_unknown_otlp_receiver_setting():
    doc = tempo_doc()
    doc["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["listen"] = "0.0.0.0:4317"
    assert c.unknown_config_keys("tempo", doc) == ["distributor.receivers.otlp.protocols.grpc.listen"]


def test_checker_rejects_mixed_tempo_override_formats():
    doc = tempo_doc()
    doc["overrides"] = {"defaults": {"metrics_generator": {"processors": ["service-graphs"]}}}
    assert c.unknown_config_keys("tempo", doc) == []
    doc["overrides"]["metrics_generator_processors"] = ["span-metrics"]  # legacy flat name
    assert c.unknown_config_keys("tempo", doc) == ["overrides.metrics_generator_processors"]


def test_checker_rejects_an_unknown_mimir_limit_and_loki_limit():
    assert c.unknown_config_keys("mimir", {"limits": {"compactor_blocks_retention": "1d"}}) == [
        "limits.compactor_blocks_retention"
    ]
    assert c.unknown_config_keys("loki", {"limits_config": {"retention": "1d"}}) == ["limits_config.retention"]


def test_checker_rejects_unknown_flags_env_and_alloy_arguments():
    assert c.unknown_flags("cadvisor", ("--docker_only=true", "--docker-only=true")) == ["-docker-only"]
    assert c.unknown_flags("minio", ("server", "/data", "--console-adress", ":9001")) == ["-console-adress"]
    assert c.unknown_env("grafana", ["GF_SECURITY_ADMIN_PASSWORD__FILE", "GF_SECURITY_ADMIN_PASSWD"]) == [
        "GF_SECURITY_ADMIN_PASSWD"
    ]
    alloy = 'loki.write "default" {\n  endpoint {\n    uri = "http://loki:3100"\n  }\n}\n'
    assert c.unknown_alloy(alloy) == ["loki.write > endpoint: uri"]


def test_checker_finds_a_command_the_image_lacks():
    spec = all_services()["minio"]
    assert c.script_commands('if ! mc admin user info local x --json | grep -q y; then mc ls; fi\n') == ["mc", "grep"]
    assert missing_executables(spec, ["mc", "grep", "curl"]) == ["grep"]
