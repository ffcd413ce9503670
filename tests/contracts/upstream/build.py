"""Regenerate tests/contracts/fixtures/<program>.yaml from upstream git snapshots.

Usage: `MIRROR=<folder> python -m tests.contracts.upstream.build [program ...]`, where
MIRROR (required) holds bare clones as `<owner>+<name>/repo` (the layout of the search tool's `fetch`).
Reading only: nothing upstream is built or run. grafana.yaml and images.yaml are kept by hand
(their sources were read through the index, not a snapshot); each cites what it was read from.
"""
import json, os, re, subprocess, sys
from pathlib import Path

import yaml

from . import loki_doc
from .gostruct import Repo

OUT = str(Path(__file__).resolve().parent.parent / "fixtures")
M = os.environ.get("MIRROR") or sys.exit("MIRROR: name the folder that holds the bare clones (<owner>+<name>/repo)")

def git(repo, *a):
    return subprocess.run(["git", f"--git-dir={M}/{repo}/repo", *a], capture_output=True, text=True, check=True).stdout

def show(repo, tag, path):
    return git(repo, "show", f"{tag}:{path}")

def commit(repo, tag):
    return git(repo, "rev-list", "-n1", tag).strip()

def with_parents(keys):
    out = set()
    for k in keys:
        parts = k.split(".")
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))
    return out

def dump(name: str, doc: dict) -> None:
    class D(yaml.SafeDumper):
        pass
    D.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"' if s[:1] in "*&!%@`{[" else None))
    with open(f"{OUT}/{name}.yaml", "w") as f:
        f.write(f"# Upstream contract of {name}: what its pinned version accepts. Generated from the\n"
                "# sources named under `source` (see tests/contracts/README.md); do not edit by hand.\n")
        yaml.dump(doc, f, Dumper=D, sort_keys=False, width=120)

# ---------- Tempo
def tempo():
    tag = "v2.10.8"; R = "grafana+tempo"
    text = show(R, tag, "docs/sources/tempo/configuration/manifest.md")
    doc = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    keys, open_ = set(), set()
    def walk(node, prefix):
        if isinstance(node, dict):
            if not node and prefix:
                open_.add(prefix)
            for k, v in node.items():
                p = f"{prefix}.{k}" if prefix else str(k)
                keys.add(p); walk(v, p)
        elif isinstance(node, list):
            for item in node:
                walk(item, prefix + "[]")
    walk(doc, "")
    repo = Repo(f"{M}/{R}/repo", tag, "github.com/grafana/tempo")
    notes = {}
    keys |= repo.keys("cmd/tempo/app", "Config", notes=notes)
    open_ |= notes.get("open", set())
    new = {k[len("overrides."):] for k in keys if k.startswith("overrides.")}
    ln = {}
    legacy = repo.keys("modules/overrides", "LegacyOverrides", notes=ln)
    shared = {k for k in new if k.split(".")[0] in ("per_tenant_override_config", "per_tenant_override_period", "user_configurable_overrides")}
    legacy |= shared
    open_ |= {f"overrides.{o}" for o in ln.get("open", set())}
    keys = {k for k in keys if not k.startswith("overrides.")}
    # Receiver settings go to the OpenTelemetry collector's receiver factories (modules/distributor/receiver/shim.go),
    # which decode them strictly by their `mapstructure` tags: the OTLP tree is recorded, the others left free-form.
    rnotes = {}
    otlp = Repo(f"{M}/{R}/repo", tag, "github.com/grafana/tempo", tagname="mapstructure").keys(
        "vendor/go.opentelemetry.io/collector/receiver/otlpreceiver", "Config", notes=rnotes)
    keys |= {f"distributor.receivers.otlp.{k}" for k in otlp} | {"distributor.receivers.otlp"}
    open_ |= {f"distributor.receivers.otlp.{k}" for k in rnotes.get("open", set())}
    open_ |= {f"distributor.receivers.{r}" for r in ("jaeger", "zipkin", "kafka")}
    open_.discard("distributor.receivers")
    flags = ["config.file", "config.expand-env", "config.verify", "version", "mem-ballast-size-mbs",
             "mutex-profile-fraction", "block-profile-threshold", "target"]
    return {
        "program": "tempo", "image": "grafana/tempo", "version": tag.lstrip("v"),
        "source": {"repository": "grafana/tempo", "tag": tag, "commit": commit(R, tag), "paths": [
            "docs/sources/tempo/configuration/manifest.md (complete default configuration)",
            "cmd/tempo/app/config.go (Config struct tree incl. omitempty fields the manifest omits)",
            "modules/overrides/config.go (overrides: `defaults:` format), modules/overrides/config_legacy.go (flat legacy format)",
            "cmd/tempo/main.go (config.file / config.expand-env / config.verify flags)",
            "vendor/go.opentelemetry.io/collector/receiver/otlpreceiver/config.go (distributor.receivers.otlp, mapstructure tags)",
            "cmd/tempo/Dockerfile (gcr.io/distroless/static-debian12: no shell)"]},
        "config": {"format": "yaml", "strict": True, "keys": sorted(with_parents(keys)), "open": sorted(open_),
                   "alternatives": {"overrides": {
                       "note": "Config.UnmarshalYAML tries the `defaults:` format first, then the legacy flat format; never both.",
                       "defaults": sorted(with_parents(new)), "legacy": sorted(with_parents(legacy))}}},
        "flags": sorted(flags),
        "binaries": ["/tempo"],
    }

# ---------- Loki
def loki():
    tag = "v3.7.6"; R = "grafana+loki"
    text = show(R, tag, "docs/sources/shared/configuration.md")
    keys, open_, _ = loki_doc.parse(text)
    flags = set(re.findall(r"# CLI flag: -([\w.\-<>]+)", text)) | {"config.file", "config.expand-env", "print-config-stderr", "log-config-reverse-order", "version"}
    return {
        "program": "loki", "image": "grafana/loki", "version": "3.7.8",
        "source": {"repository": "grafana/loki", "tag": "v3.7.8", "read_at": f"{tag} @ {commit(R, tag)}",
                   "note": ("The stored snapshot ends at v3.7.6 (2026-08-05); 3.7.7 and 3.7.8 are patch releases of the same "
                            "line. Re-read configuration.md at v3.7.8 when a snapshot has it."),
                   "paths": [
            "docs/sources/shared/configuration.md (generated reference; `[key: <block>]` resolved to its `### block`)",
            "cmd/loki/Dockerfile (gcr.io/distroless/static:nonroot: no shell)"]},
        "config": {"format": "yaml", "strict": True, "keys": sorted(with_parents(keys)), "open": sorted(open_)},
        "flags": sorted(f for f in flags if "<" not in f),
        "binaries": ["/usr/bin/loki"],
    }

# ---------- Mimir
def mimir():
    R = "scm-repo-mirror+grafana_mimir"; ref = "main"
    d = json.loads(show(R, ref, "cmd/mimir/config-descriptor.json"))
    keys, open_, flags = set(), set(), {"config.file", "config.expand-env", "version", "modules"}
    def walk(b, prefix):
        for e in b.get("blockEntries", []):
            p = f"{prefix}.{e['name']}" if prefix else e["name"]
            keys.add(p)
            if e["kind"] == "block":
                walk(e, p)
            else:
                if e.get("fieldFlag"):
                    flags.add(e["fieldFlag"])
                t = e.get("fieldType") or ""
                if t.startswith("map of") or t in ("slice", "relabel_config...") or t.startswith("list of") and t != "list of strings" and t != "list of durations":
                    open_.add(p)
    walk(d, "")
    return {
        "program": "mimir", "image": "grafana/mimir", "version": "3.1.5",
        "source": {"repository": "grafana/mimir", "tag": "mimir-3.1.5",
                   "read_at": f"main @ {git(R, 'rev-parse', ref).strip()} (2026-02-16, the 3.1 development line after 3.0.3)",
                   "note": ("grafana/mimir's snapshot exceeds the fetch size limit; a mirror (scm-repo-mirror/grafana_mimir) holds main "
                            "up to 2026-02-16. CHANGELOG 3.1.0..3.1.5 (grafana/mimir CHANGELOG.md, read via the index) lists removals only "
                            "of experimental flags outside the sections rendered here; 3.1.1..3.1.5 are Go/CVE bumps only."),
                   "paths": ["cmd/mimir/config-descriptor.json", "CHANGELOG.md", "cmd/mimir/Dockerfile (distroless per CHANGELOG 3.1.1)"]},
        "config": {"format": "yaml", "strict": True, "keys": sorted(with_parents(keys)), "open": sorted(open_)},
        "flags": sorted(flags),
        "binaries": ["/bin/mimir"],
    }

# ---------- Alloy
def alloy():
    R = "grafana+alloy"; tag = "v1.19.0-rc.3"
    base = "docs/sources/reference/components"
    def rows(section):
        return [m for m in re.findall(r"^\|\s*`([a-z_0-9]+)`\s*\|", section, re.M)]
    def shared(text):
        names = []
        for lk in re.findall(r'docs/shared lookup="reference/components/([^"]+)"', text):
            try:
                names += rows(show(R, tag, f"docs/sources/shared/reference/components/{lk}"))
            except subprocess.CalledProcessError:
                pass
        return names
    comps = {}
    for comp, path in [("discovery.docker", "discovery/discovery.docker.md"), ("discovery.relabel", "discovery/discovery.relabel.md"),
                       ("loki.source.docker", "loki/loki.source.docker.md"), ("loki.write", "loki/loki.write.md"),
                       ("discovery.kubernetes", "discovery/discovery.kubernetes.md"), ("loki.source.kubernetes", "loki/loki.source.kubernetes.md"),
                       ("otelcol.receiver.otlp", "otelcol/otelcol.receiver.otlp.md"), ("prometheus.remote_write", "prometheus/prometheus.remote_write.md")]:
        text = show(R, tag, f"{base}/{path}")
        args_sec = re.search(r"^## Arguments\n(.*?)(?=^## )", text, re.S | re.M)
        args = rows(args_sec.group(1)) + shared(args_sec.group(1)) if args_sec else []
        blocks = {}
        bsec = re.search(r"^## Blocks\n(.*?)(?=^### |^## (?!Blocks))", text, re.S | re.M)
        sections = dict(re.findall(r"^### `?([a-z_0-9]+)`?\n(.*?)(?=^### |^## |\Z)", text, re.S | re.M))
        if bsec:
            for line in bsec.group(1).split("\n"):
                if not line.startswith("|") or "---" in line or "Block" in line.split("|")[1]:
                    continue
                cell = line.split("|")[1]
                path_ = re.findall(r"`([a-z_0-9]+)`", cell)
                if not path_:
                    continue
                sec = sections.get(path_[-1], "")
                blocks[" > ".join(path_)] = sorted(set(rows(sec) + shared(sec)))
        comps[comp] = {"arguments": sorted(set(args)), "blocks": blocks, "doc": f"{base}/{path}"}
    flags = sorted(set(re.findall(r'"([a-z][a-z.\-]+)", ', show(R, tag, "internal/alloycli/cmd_run.go"))) - {"service", "priority", "enabled", "err"})
    return {
        "program": "alloy", "image": "grafana/alloy", "version": "1.19.2",
        "source": {"repository": "grafana/alloy", "tag": "v1.19.2", "read_at": f"{tag} @ {commit(R, tag)}",
                   "note": "The stored snapshot ends at v1.19.0-rc.3 (2026-08-21); the component reference of the v1.19 release line was read there.",
                   "paths": [c["doc"] for c in comps.values()] + ["docs/sources/shared/reference/components/*-block.md",
                             "internal/alloycli/*.go (commands; flags of `alloy run` in cmd_run.go)", "Dockerfile (FROM ubuntu:noble: sh, bash; /bin/alloy, /bin/otelcol, /bin/otel-supervisor)"]},
        "components": comps,
        "commands": sorted({m for f in git(R, "ls-tree", "--name-only", tag, "internal/alloycli/").split()
                            if not f.endswith("_test.go") for m in re.findall(r'Use:\s+"([a-z-]+)', show(R, tag, f))}),
        "flags": flags,
        "binaries": ["/bin/alloy", "/bin/otelcol", "/bin/otel-supervisor", "sh", "bash"],
    }

# ---------- cAdvisor
def cadvisor():
    R = "google+cadvisor"; tag = "v0.57.0"
    files = [f for f in git(R, "ls-tree", "-r", "--name-only", tag).split() if f.endswith(".go") and not f.endswith("_test.go") and not f.startswith("integration/")]
    flags = set()
    for f in files:
        src = show(R, tag, f)
        flags |= set(re.findall(r'flag\.(?:String|Bool|Int|Int64|Uint|Uint64|Float64|Duration|Var|StringVar|BoolVar|IntVar|DurationVar|Uint64Var|Float64Var|Int64Var)\((?:&?[A-Za-z_][^,"]*, )?"([a-z_.0-9-]+)"', src))
    return {
        "program": "cadvisor", "image": "ghcr.io/google/cadvisor", "version": tag,
        "source": {"repository": "google/cadvisor", "tag": tag, "commit": commit(R, tag),
                   "note": "flags: every flag.X(\"name\") definition outside tests and integration/ at the tag (klog's own flags not listed)",
                   "paths": ["cmd/cadvisor.go", "manager/*.go", "container/**/*.go", "deploy/Dockerfile (alpine:3.23 base: busybox sh/wget)"]},
        "flags": sorted(flags),
        "binaries": ["/usr/bin/cadvisor", "/usr/bin/entrypoint.sh", "/usr/bin/healthcheck.sh", "sh", "wget"],
    }

# ---------- nginx-proxy
def nginx_proxy():
    R = "nginx-proxy+nginx-proxy"; tag = "1.11.6"
    tmpl = show(R, tag, "nginx.tmpl")
    global_env = set(re.findall(r"\$\.Env\.([A-Z_0-9]+)|\$globals\.Env\.([A-Z_0-9]+)", tmpl))
    global_env = {a or b for a, b in global_env}
    all_env = set(re.findall(r"\.Env\.([A-Z_0-9]+)", tmpl)) | set(re.findall(r'"Env\.([A-Z_0-9]+)"', tmpl))
    entry = show(R, tag, "app/docker-entrypoint.sh")
    entry_env = set(re.findall(r"\$\{?([A-Z][A-Z_0-9]+)", entry))
    labels = sorted(set(re.findall(r'"(com\.github\.nginx-proxy\.nginx-proxy\.[a-z0-9_.-]+)"', tmpl)))
    return {
        "program": "nginx-proxy", "image": "nginxproxy/nginx-proxy", "version": tag,
        "source": {"repository": "nginx-proxy/nginx-proxy", "tag": tag, "commit": commit(R, tag),
                   "paths": ["nginx.tmpl (docker-gen template: .Env.X reads)", "app/docker-entrypoint.sh", "Dockerfile.debian (FROM nginx:1.31.3, Debian: sh, bash; adds forego, docker-gen)"]},
        "env": sorted((all_env | entry_env) - {"SHA"} ),
        "container_env": sorted(all_env - global_env),
        "container_labels": labels,
        "files": {"vhost": "/etc/nginx/vhost.d/{host}", "vhost_location": "/etc/nginx/vhost.d/{host}_location",
                  "htpasswd": "/etc/nginx/htpasswd/{host}", "certs": "/etc/nginx/certs", "html": "/usr/share/nginx/html",
                  "docker_socket": "/tmp/docker.sock",
                  # nginx.conf of the nginx base image: `include /etc/nginx/conf.d/*.conf;` (default.conf is docker-gen's)
                  "conf_d": "/etc/nginx/conf.d/{name}.conf"},
        "binaries": ["nginx", "docker-gen", "forego", "sh", "bash", "/app/docker-entrypoint.sh"],
    }

# ---------- acme-companion
def acme():
    R = "nginx-proxy+acme-companion"; tag = "v2.8.2"
    ref = show(R, tag, "docs/Environment-variables-reference.md")
    env = set(re.findall(r"`([A-Z][A-Z_0-9]{2,})`", ref))
    tmpl = show(R, tag, "app/letsencrypt_service_data.tmpl")
    container_env = set(re.findall(r"\.Env\.([A-Z_0-9]+)", tmpl)) | set(re.findall(r'"Env\.([A-Z_0-9]+)"', tmpl))
    fn = show(R, tag, "app/functions.sh")
    proxy_label = re.search(r"labeled_cid (com\.github\.nginx-proxy\.nginx)\b", fn).group(1)
    return {
        "program": "acme-companion", "image": "nginxproxy/acme-companion", "version": tag.lstrip("v"),
        "source": {"repository": "nginx-proxy/acme-companion", "tag": tag, "commit": commit(R, tag),
                   "paths": ["docs/Environment-variables-reference.md", "app/letsencrypt_service_data.tmpl (per-container env)",
                             "app/functions.sh (proxy found by label, or NGINX_PROXY_CONTAINER)", "docs/Persistent-data.md", "Dockerfile (alpine:3.24.1)"]},
        "env": sorted(env),  # the reference documents the companion's own and the per-container variables
        "container_env": sorted(container_env),
        "proxy_label": proxy_label,
        "volumes": ["/etc/nginx/certs", "/usr/share/nginx/html", "/etc/acme.sh", "/var/run/docker.sock"],
        "binaries": ["bash", "sh", "curl", "jq", "openssl", "sed", "socat", "tar", "docker-gen", "acme.sh", "/app/entrypoint.sh", "/app/start.sh"],
    }

# ---------- MinIO
def minio():
    R = "minio+minio"; tag = "RELEASE.2025-09-07T16-13-09Z"
    files = [f for f in git(R, "ls-tree", "-r", "--name-only", tag).split() if f.endswith(".go") and not f.endswith("_test.go") and f.split("/")[0] in ("cmd", "internal")]
    env = set()
    for f in files:
        env |= set(re.findall(r'"(MINIO_[A-Z0-9_]+)"', show(R, tag, f)))
    server = show(R, tag, "cmd/server-main.go")
    flags = set(re.findall(r'Name:\s+"([a-z][a-z0-9-]+)"', server.split("var serverCmd")[0]))
    router = show(R, tag, "cmd/metrics-router.go")
    assert '"/v2/metrics/cluster"' in router
    return {
        "program": "minio", "image": "quay.io/minio/minio", "version": tag,
        "source": {"repository": "minio/minio", "tag": tag, "commit": commit(R, tag),
                   "paths": ["cmd/**/*.go, internal/**/*.go (\"MINIO_*\" names)", "cmd/server-main.go (server flags)",
                             "cmd/metrics-router.go (/v2/metrics/cluster under /minio)", "Dockerfile.release (ubi9/ubi-micro + minio, mc, curl)"],
                   "base_image_note": ("ubi-micro ships bash and coreutils, no package manager (Red Hat, 'Understanding the UBI micro images'; "
                                       "atgreen.github.io/repl-yell/posts/ubi-micro-dev): no grep, sed or awk.")},
        "env": sorted(env),
        "commands": {"server": sorted(flags)},
        "metrics_paths": ["/minio/v2/metrics/cluster", "/minio/v2/metrics/node", "/minio/v2/metrics/bucket", "/minio/v2/metrics/resource"],
        "binaries": ["/usr/bin/minio", "/usr/bin/mc", "/usr/bin/curl", "/usr/bin/docker-entrypoint.sh", "sh", "bash",
                     "cat", "chmod", "chroot", "cp", "cut", "date", "echo", "env", "head", "ls", "mkdir", "mv", "printf", "rm", "sleep",
                     "sort", "tail", "test", "[", "touch", "tr", "true", "false", "wc"],
    }

if __name__ == "__main__":
    for fn, name in [(tempo, "tempo"), (loki, "loki"), (mimir, "mimir"), (alloy, "alloy"), (cadvisor, "cadvisor"),
                     (nginx_proxy, "nginx-proxy"), (acme, "acme-companion"), (minio, "minio")]:
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        doc = fn(); dump(name, doc); print(name, {k: len(v) if isinstance(v, (list, dict)) else v for k, v in doc.items() if k in ("flags", "env", "binaries")})
