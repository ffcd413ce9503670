"""Every image we build lints clean, runs as a non-root user and declares a HEALTHCHECK."""

import fnmatch
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted(REPO.glob("app/*/Dockerfile"))
HADOLINT = str(Path(sys.executable).parent / "hadolint")


def test_there_is_a_dockerfile_per_image():
    assert {p.parent.name for p in DOCKERFILES} == {"api", "processor", "ui", "mlflow", "postgres"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile):
    result = subprocess.run([HADOLINT, "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_runs_as_non_root(dockerfile):
    users = re.findall(r"^USER\s+(\S+)", dockerfile.read_text(), re.M)
    assert users and users[-1] not in ("root", "0")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, with backslash continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, args = line.strip().partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_has_a_healthcheck(dockerfile):
    checks = [args for keyword, args in instructions(dockerfile) if keyword == "HEALTHCHECK"]
    assert checks, "no HEALTHCHECK"
    assert re.search(r"(^|\s)CMD\s+\S", checks[-1]) and checks[-1].split()[0].upper() != "NONE", checks[-1]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_base_image_is_pinned(dockerfile):
    stages: set[str] = set()
    froms = [args.split() for keyword, args in instructions(dockerfile) if keyword == "FROM"]
    assert froms
    for parts in froms:
        image = next(p for p in parts if not p.startswith("--"))
        if image not in stages:  # a later stage may start FROM an earlier one
            name = image.split("@", 1)[0]
            assert "@sha256:" in image or (":" in name.rsplit("/", 1)[-1] and not name.endswith(":latest")), image
        if "AS" in (p.upper() for p in parts):
            stages.add(parts[-1])


def test_instruction_reader_does_not_let_a_later_cmd_stand_in_for_the_healthcheck(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM python:3.11.14-slim\nHEALTHCHECK NONE\nCMD [\"python\"]\n")
    with pytest.raises(AssertionError):
        test_dockerfile_has_a_healthcheck(df)


def apt_installs(dockerfile: Path) -> dict[str, str]:
    """{package: version pattern ('' when unpinned)} of every `apt-get install` in the RUN instructions."""
    found = {}
    for keyword, args in instructions(dockerfile):
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", args):
            words = shlex.split(command)
            if words[:1] in (["apt-get"], ["apt"]) and "install" in words:
                for word in words[words.index("install") + 1 :]:
                    if not word.startswith("-"):
                        name, _, version = word.partition("=")
                        found[name] = version
    return found


def apt_selects(pattern: str, version: str) -> bool:
    """Whether `apt-get install NAME=PATTERN` accepts VERSION: Debian/apt apt-pkg/versionmatch.cc at tag 3.0.3
    (trixie's apt): a trailing `*` makes the rest a case-insensitive prefix, otherwise the whole string must
    equal it (pkgVersionMatch constructor and MatchVer); failing that, fnmatch(3) with FNM_CASEFOLD of the
    pattern without that `*` (ExpressionMatches). Patterns in /slashes/ are regular expressions there; we use none."""
    assert not pattern.startswith("/"), "write the pin as a prefix or glob, not as a regular expression"
    stem = pattern[:-1] if pattern.endswith("*") else pattern
    text, stem = version.lower(), stem.lower()
    if text.startswith(stem) if pattern.endswith("*") else text == stem:
        return True
    return fnmatch.fnmatchcase(text, stem)


@dataclass(frozen=True)
class AptRepositoryFacts:
    """What a repository serves today, and what its update policy lets it serve next instead: its index keeps
    only the newest version, so a pin must accept every one of `next`, or a rebuild fails once it ships."""

    published: str
    next: tuple[str, ...]
    #: Versions the pin must refuse: a new major series that breaks what the image relies on.
    breaking: tuple[str, ...]
    source: str


APT_PACKAGES = {
    # PGDG (the official image's trixie-pgdg repository) follows new upstream releases of extension and tool
    # packages (wiki.postgresql.org Apt/FAQ) and its index lists only the newest version of a package; older
    # ones stay only in the pool and in apt-archive.postgresql.org ("historical packages"). pgBackRest tags
    # release/2.59.0 (2026-07-20) and release/2.59.1 (2026-08-17); minors came 3 to 6 months apart
    # (release/2.55.0 2025-04-21 ... release/2.59.0). PGDG's trixie version scheme is "<debian>.pgdg13+<n>"
    # (docker-library/postgres 18/trixie/Dockerfile: PG_VERSION 18.3-1.pgdg13+1); `published` is composed from
    # that scheme and the upstream tag (the index itself is not reachable from here). The on-disk repository
    # format is 5 from release/2.00 (lib/pgBackRest/Version.pm BACKREST_FORMAT) to release/2.59.1
    # (src/version.h REPOSITORY_FORMAT: "If this number changes then the repository will be invalid").
    "pgbackrest": AptRepositoryFacts(
        published="2.59.1-1.pgdg13+1",
        next=("2.59.1-1.pgdg13+2", "2.59.2-1.pgdg13+1", "2.60.0-1.pgdg13+1", "2.61.0-2.pgdg13+1"),
        breaking=("3.0.0-1.pgdg13+1",),
        source="PGDG trixie-pgdg main",
    ),
    # Debian trixie (the base image's suite): its index too keeps one version per suite, and a stable release
    # may move ca-certificates to a new upstream through its security suite: Debian 12 went from
    # 20230311+deb12u1 (bookworm/main) to 20250419~deb12u2 (bookworm-security; `apt-cache policy ca-certificates`
    # on a Debian 12 host). Trixie ships 20250419 (packages.debian.org, src:ca-certificates).
    "ca-certificates": AptRepositoryFacts(
        published="20250419",
        next=("20250419+deb13u1", "20260301~deb13u1"),
        breaking=(),
        source="Debian trixie, trixie-security",
    ),
}

APT_INSTALLS = [(df, name, pin) for df in DOCKERFILES for name, pin in apt_installs(df).items()]


def apt_id(case) -> str:
    return f"{case[0].parent.name}-{case[1]}"


@pytest.mark.parametrize("case", APT_INSTALLS, ids=apt_id)
def test_every_apt_package_has_its_repositorys_facts(case):
    _, name, _ = case
    assert name in APT_PACKAGES, f"{name}: add what its repository publishes and may publish next to APT_PACKAGES"


@pytest.mark.parametrize("case", APT_INSTALLS, ids=apt_id)
def test_apt_pins_accept_the_published_version_and_every_release_the_repository_may_replace_it_with(case):
    dockerfile, name, pin = case
    facts = APT_PACKAGES[name]
    for version in (facts.published, *facts.next):
        assert apt_selects(pin, version), f"{dockerfile.parent.name}: {name}={pin} fails once {facts.source} serves {version}"


@pytest.mark.parametrize("case", APT_INSTALLS, ids=apt_id)
def test_apt_pins_refuse_a_new_major_series(case):
    dockerfile, name, pin = case
    for version in APT_PACKAGES[name].breaking:
        assert pin and not apt_selects(pin, version), f"{dockerfile.parent.name}: {name}={pin} would install {version}"


def test_apt_installs_are_read_from_every_run_instruction(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM debian:13.1\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends a=1.* b \\\n && true\n")
    assert apt_installs(df) == {"a": "1.*", "b": ""}


@pytest.mark.parametrize(
    "pattern,version,selected",
    [
        ("2.59.0-*", "2.59.1-1.pgdg13+1", False),  # the pin of issue 22: gone with 2.59.0 from the index
        ("2.59.0-*", "2.59.0-1.pgdg13+1", True),
        ("2.*", "2.60.0-1.pgdg13+1", True),
        ("2.*", "20.1-1", False),
        ("2.59.1-1.pgdg13+1", "2.59.1-1.PGDG13+1", True),  # case-insensitive
        ("2.59.1-1.pgdg13+1", "2.59.1-1.pgdg13+2", False),
        ("2.5?.1-1", "2.59.1-1", True),  # fnmatch
        ("2.5?.*", "2.59.1-1", False),  # apt cuts the trailing * before fnmatch (apt 2.6.1 here agrees)
        ("2.*+1", "2.60.0-1.pgdg13+1", True),
    ],
)
def test_apt_version_matching_follows_apt(pattern, version, selected):
    assert apt_selects(pattern, version) is selected
