"""Check what the catalog renders against what each pinned upstream program accepts.

The fixtures under `fixtures/` record, per program and version, the configuration keys, flags,
environment variables and executables read from its upstream sources at the pinned tag (each
fixture names them). Loki, Tempo and Mimir refuse unknown YAML fields at start-up; Grafana and the
proxy ignore unknown variables silently. Either way a name that upstream does not read is a defect.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from infra.catalog.model import BuiltImage, ServiceSpec

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The programs that cannot run on this machine, by fixture name.
CONTRACT_PROGRAMS = ("loki", "tempo", "mimir", "alloy", "grafana", "cadvisor", "nginx-proxy", "acme-companion", "minio")


@functools.cache
def fixture(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())


def repository(image: str) -> str:
    """`quay.io/minio/minio:RELEASE...` -> `quay.io/minio/minio` (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def tag(image: str) -> str:
    return image.split("@", 1)[0][len(repository(image)) + 1 :]


def same_version(pinned_tag: str, version: str) -> bool:
    """Image tags carry a `v` prefix or not, depending on the project."""
    return pinned_tag.lstrip("v") == str(version).lstrip("v")


def program_of(spec: ServiceSpec) -> str | None:
    if isinstance(spec.image, BuiltImage):
        return None
    repo = repository(spec.image)
    for name in CONTRACT_PROGRAMS:
        if fixture(name)["image"] == repo:
            return name
    return None


# ----------------------------------------------------------------- YAML key trees


def key_paths(doc: Any, prefix: str = "") -> Iterator[str]:
    """Every mapping key of a YAML document as a dotted path; list items add `[]`."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from key_paths(value, path)
    elif isinstance(doc, list):
        for item in doc:
            yield from key_paths(item, prefix + "[]")


def unknown_keys(doc: Any, keys: Iterable[str], open_paths: Iterable[str] = ()) -> list[str]:
    """Key paths of `doc` that the key tree does not accept; anything below an open path is free-form."""
    accepted, free = set(keys), tuple(open_paths)
    return [
        p for p in key_paths(doc) if p not in accepted and not any(p.startswith(o + ".") or p.startswith(o + "[]") for o in free)
    ]


def unknown_config_keys(program: str, doc: Any) -> list[str]:
    """Strict YAML check of a whole config file; alternative formats of a section (Tempo's
    `overrides`) must be matched by one alternative as a whole."""
    cfg = fixture(program)["config"]
    alternatives = cfg.get("alternatives", {})
    rest = {k: v for k, v in doc.items() if k not in alternatives} if isinstance(doc, dict) else doc
    bad = unknown_keys(rest, cfg["keys"], cfg.get("open", ()))
    for section, forms in alternatives.items():
        if not isinstance(doc, dict) or section not in doc:
            continue
        free = [o[len(section) + 1 :] for o in cfg.get("open", ()) if o.startswith(section + ".")]
        tried = {
            form: unknown_keys(doc[section], keys, free)
            for form, keys in forms.items()
            if isinstance(keys, list)
        }
        if all(tried.values()):
            best = min(tried.values(), key=len)
            bad += [f"{section}.{k}" for k in best]
    return bad


# ----------------------------------------------------------------- command lines and env


def flag_names(command: Iterable[str]) -> list[str]:
    return [arg.lstrip("-").split("=", 1)[0] for arg in command if arg.startswith("-")]


def unknown_flags(program: str, command: tuple[str, ...] | None) -> list[str]:
    if not command:
        return []
    spec = fixture(program)
    args = list(command)
    if isinstance(spec.get("commands"), dict):  # MinIO: `server` and its flags
        sub = args.pop(0)
        if sub not in spec["commands"]:
            return [f"command '{sub}'"]
        accepted = set(spec["commands"][sub])
    else:
        if "commands" in spec and args and not args[0].startswith("-"):
            sub = args.pop(0)
            if sub not in spec["commands"]:
                return [f"command '{sub}'"]
        accepted = set(spec["flags"])
    return [f"-{f}" for f in flag_names(args) if f not in accepted]


def grafana_env_accepted(name: str) -> bool:
    spec = fixture("grafana")
    for suffix in spec["env_suffixes"]:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    for section, keys in spec["ini"].items():
        for key in keys:
            if name == "GF_" + re.sub(r"[.\-]", "_", f"{section}_{key}").upper():
                return True
    return False


def unknown_env(program: str, names: Iterable[str]) -> list[str]:
    if program == "grafana":
        return [n for n in names if not grafana_env_accepted(n)]
    accepted = set(fixture(program).get("env", ()))
    return [n for n in names if n not in accepted]


# ----------------------------------------------------------------- Alloy


def alloy_blocks(text: str) -> list[tuple[str, list[str], list[str]]]:
    """(component, block path, attribute names) for every block body of an Alloy config.

    Enough of the syntax for generated configs: one statement per line, `name = value`
    attributes (object literals may span lines), `name "label" {` / `name {` blocks, `//` comments.
    """
    out: list[tuple[str, list[str], list[str]]] = []
    stack: list[tuple[str, list[str]]] = []  # (name, attributes)
    depth_in_value = 0
    for raw in text.splitlines():
        line = re.sub(r'"(?:\\.|[^"\\])*"', '""', raw)
        line = line.split("//", 1)[0].strip()
        if not line:
            continue
        if depth_in_value:
            depth_in_value += line.count("{") + line.count("[") - line.count("}") - line.count("]")
            continue
        if m := re.match(r"^([A-Za-z_][\w.]*)\s*(?:\"\")?\s*\{$", line):
            stack.append((m.group(1), []))
        elif m := re.match(r"^([A-Za-z_]\w*)\s*=\s*(.*)$", line):
            stack[-1][1].append(m.group(1))
            value = m.group(2)
            depth_in_value = value.count("{") + value.count("[") - value.count("}") - value.count("]")
        elif line == "}":
            name, attrs = stack.pop()
            path = [s[0] for s in stack] + [name]
            out.append((path[0], path[1:], attrs))
        else:
            raise ValueError(f"unparsed Alloy line: {raw!r}")
    if stack:
        raise ValueError("unbalanced braces in Alloy config")
    return out


def unknown_alloy(text: str) -> list[str]:
    components = fixture("alloy")["components"]
    bad = []
    for component, path, attrs in alloy_blocks(text):
        if component not in components:
            bad.append(f"component {component}")
            continue
        spec = components[component]
        if not path:
            accepted = set(spec["arguments"])
        else:
            block = " > ".join(path)
            if block not in spec["blocks"]:
                bad.append(f"{component} block {block}")
                continue
            accepted = set(spec["blocks"][block])
        bad += [f"{component}{''.join(' > ' + p for p in path)}: {a}" for a in attrs if a not in accepted]
    return bad


# ----------------------------------------------------------------- executables


def image_binaries(spec: ServiceSpec) -> set[str] | None:
    images = yaml.safe_load((FIXTURES / "images.yaml").read_text())["images"]
    if isinstance(spec.image, BuiltImage):
        found = images.get(f"built-{spec.image.name}", images["built"])["binaries"]
    else:
        program = program_of(spec)
        entry = fixture(program) if program else images.get(repository(spec.image))
        found = entry.get("binaries") if entry else None
    if found is None:
        return None
    names: set[str] = set()
    for item in _flatten(found):
        names.add(item)
        names.add(item.rsplit("/", 1)[-1])
    return names


def _flatten(items: Any) -> Iterator[str]:
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield str(item)


def healthcheck_executables(spec: ServiceSpec) -> list[str]:
    if spec.healthcheck is None:
        return []
    kind, *rest = spec.healthcheck.test
    if kind == "CMD":
        return [rest[0]]
    if kind == "CMD-SHELL":
        return ["sh", *script_commands(rest[0])]
    return []


SHELL_WORDS = {
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "in", "!", "{", "}",
    "set", "export", "local", "return", "exit", "shift", "unset", "eval", "exec", "trap", "wait", "read", "cd", ":",
    "[", "[[", "test", "true", "false", "echo", "printf",
}  # keywords and builtins of POSIX sh (dash and bash ship echo, printf and test as builtins)


LEADING_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}"}


def script_commands(script: str) -> list[str]:
    """The external commands a shell script runs (first word of each simple command), without
    here-document bodies, comments, builtins and the script's own functions."""
    lines, heredoc = [], None
    for line in script.splitlines():
        if heredoc:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        if m := re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line):
            heredoc, line = m.group(1), line[: m.start()]
        lines.append(re.sub(r"(^|\s)#.*$", "", line))
    text = "\n".join(lines)
    functions = set(re.findall(r"^\s*(\w+)\s*\(\)\s*\{", text, re.M))
    text = re.sub(r"^\s*\w+\s*\(\)\s*\{", "", text, flags=re.M)
    first_words = []
    for part in re.split(r"\$\(|`|&&|\|\||[;|()\n]", text):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        while words and (words[0] in LEADING_KEYWORDS or re.match(r"^\w+=", words[0])):
            words.pop(0)
        if words:
            first_words.append(words[0])
    return [w for w in dict.fromkeys(first_words) if w not in SHELL_WORDS and w not in functions and not w.startswith("$")]


def bootstrap_executables(spec: ServiceSpec) -> list[str]:
    """A bootstrap runs as `docker exec -i ... sh -s` (infra.targets.docker.components.Service._bootstrap)."""
    if spec.bootstrap is None:
        return []
    return ["sh", *script_commands(spec.bootstrap.script)]
