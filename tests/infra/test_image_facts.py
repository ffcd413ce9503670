"""Image facts (infra/catalog/image_facts.yaml): one per image of every shipped stack, each fact cited, read for
the pinned tag, every mounted path covered; ours re-derived from our Dockerfiles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.catalog.image_facts import all_facts, facts_for, facts_key
from infra.catalog.model import BuiltImage

REPO = Path(__file__).resolve().parents[2]
DEBIAN_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's ca-certificates (update-ca-certificates)


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in (raw.strip() for raw in text.splitlines())
        if line and not line.startswith("#")
    ]


def derived_facts(name: str) -> dict:
    """What app/<name>/Dockerfile makes of its base's facts: USER, ENTRYPOINT, CMD, and a CA bundle when it
    installs ca-certificates."""
    steps = dockerfile_instructions(REPO / "app" / name / "Dockerfile")
    base_ref = next(args for keyword, args in steps if keyword == "FROM")
    base = all_facts()[facts_key(base_ref)]
    derived = {"base": base.key, "user": base.user, "entrypoint": base.entrypoint, "cmd": base.cmd,
               "shell": base.shell, "ca_bundle": base.ca_bundle}  # fmt: skip
    for keyword, args in steps:
        if keyword == "USER":
            derived["user"] = args.strip()
        elif keyword == "CMD":
            derived["cmd"] = tuple(json.loads(args))  # exec form (tests/test_dockerfiles.py keeps it so)
        elif keyword == "ENTRYPOINT":
            derived["entrypoint"] = tuple(json.loads(args))
        elif keyword == "RUN" and re.search(r"apt-get install [^&]*\bca-certificates\b", args):
            derived["ca_bundle"] = DEBIAN_CA_BUNDLE
    return derived


OURS = sorted(p.parent.name for p in REPO.glob("app/*/Dockerfile"))


@pytest.mark.parametrize("name", OURS)
def test_our_image_facts_are_what_the_dockerfile_builds(name):
    facts, derived = all_facts()[f"app/{name}"], derived_facts(name)
    uid = derived["user"] if isinstance(derived["user"], tuple) else facts.resolve_user(derived["user"])
    assert facts.user == uid
    assert (facts.entrypoint, facts.cmd) == (derived["entrypoint"], derived["cmd"])
    assert (facts.shell, facts.ca_bundle) == (derived["shell"], derived["ca_bundle"])


def test_our_postgres_image_has_a_ca_bundle_for_pgbackrests_https_target():
    """The official image purges ca-certificates (docker-library/postgres#1331); pgBackRest verifies the S3
    target against OpenSSL's default store, so our image must install a bundle."""
    assert all_facts()["postgres"].ca_bundle is None
    assert derived_facts("postgres")["ca_bundle"] == DEBIAN_CA_BUNDLE


def test_a_built_image_and_a_pinned_reference_name_their_facts():
    assert facts_key(BuiltImage("postgres", "app/postgres/Dockerfile")) == "app/postgres"
    assert facts_key("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z") == "quay.io/minio/minio"
    assert facts_key("prom/prometheus:v3.14.0@sha256:" + "a" * 64) == "prom/prometheus"
    assert facts_key("nginx:1.31.4") == "nginx"


def shipped_services():
    from tests.catalog_runs.runner import shipped_stacks, stack_catalog

    every = {}
    for stack in shipped_stacks():
        for name, spec in stack_catalog(stack)[1].services.items():
            every[(name, str(spec.image))] = spec
    return list(every.values())


SERVICES = shipped_services()


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_image_of_every_shipped_stack_has_facts_for_its_pinned_tag(spec):
    from infra.images import IMAGES

    facts = facts_for(spec)
    if isinstance(spec.image, BuiltImage):
        assert facts.tag == spec.image.dockerfile
    else:
        assert spec.image in IMAGES.values() and spec.image.split("@", 1)[0].endswith(":" + facts.tag), (spec.image, facts.tag)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_path_a_named_volume_is_mounted_at_is_in_the_image_facts(spec):
    from infra.catalog.model import Mount

    facts = facts_for(spec)
    missing = [m.path for m in spec.mounts if isinstance(m, Mount) and m.path not in facts.paths]
    assert not missing, f"{spec.name}: record {missing} (owner and mode, or absent) under {facts.key} in image_facts.yaml"


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_the_user_a_service_runs_as_is_one_its_image_knows(spec):
    facts = facts_for(spec)
    facts.resolve_user(spec.user or spec.hardening.image_user)


def test_the_bases_of_our_images_are_the_tags_their_dockerfiles_name():
    for name in OURS:
        base_ref = next(args for keyword, args in dockerfile_instructions(REPO / "app" / name / "Dockerfile") if keyword == "FROM")
        assert base_ref.endswith(":" + all_facts()[facts_key(base_ref)].tag), base_ref


def test_every_fact_names_where_upstream_says_so():
    for facts in all_facts().values():
        assert facts.read.strip()
        assert set(facts.cites) == {"user", "entrypoint", "cmd", "shell", "ca_bundle"}
        assert all(c.strip() for c in facts.cites.values()) and all(p.cite.strip() for p in facts.paths.values())


def test_a_volume_is_the_image_directorys_only_while_no_container_lacking_the_path_writes_it_first():
    from infra.catalog.image_facts import created_volume

    prometheus, busybox = all_facts()["prom/prometheus"], all_facts()["busybox"]
    assert created_volume([(prometheus, "/prometheus", False)]) == (65534, 65534, 0o775)
    assert created_volume([(prometheus, "/prometheus", False), (busybox, "/textfile", True)]) == (65534, 65534, 0o775)
    assert created_volume([(prometheus, "/prometheus", False), (busybox, "/textfile", False)]) == (0, 0, 0o755)
    assert created_volume([(busybox, "/textfile", False)]) == (0, 0, 0o755)
