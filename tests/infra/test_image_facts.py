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
