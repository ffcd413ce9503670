"""Pinned third-party images (checked against upstream tags, late 2026).

A stack can override any entry with `images.<service>` in its config; the
override must be pinned too. MinIO's community images are frozen (Docker Hub
refuses pulls since Sept 2026), so the last official image is taken from
quay.io; swap the `minio` entry (for example for RustFS) by changing one line.
"""

IMAGES = {
    # nginx-proxy/nginx-proxy: tag 1.11.6 (2026-07-16); build-publish.yml pushes Docker Hub tags on "*.*.*".
    "proxy": "nginxproxy/nginx-proxy:1.11.6",
    # nginx-proxy/acme-companion: tag v2.8.2 (2026-07-17); build-publish.yml pushes Docker Hub tags on "v*.*.*".
    "acme": "nginxproxy/acme-companion:2.8.2",
    "postgres": "postgres:18.6",
    "rabbitmq": "rabbitmq:4.2.3-management",
    # minio/minio: tag RELEASE.2025-09-07T16-13-09Z (Dockerfile.release); the last release with official images
    # (RELEASE.2025-10-15T17-29-55Z shipped as source only), still served by quay.io.
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "prometheus": "prom/prometheus:v3.14.0",
    # grafana/loki: tags up to v3.7.6 (2026-08-05, release.yml publishImages); 3.7.8 seen digest-pinned in public
    # use (grafana/loki:3.7.8@sha256:1107dd5274e0..., a monitoring render script, Sept 2026).
    "loki": "grafana/loki:3.7.8",
    # grafana/tempo: tag v2.10.8 (2026-08-13, release.yml on tags); in public use as a security bump 2026-08-13.
    "tempo": "grafana/tempo:2.10.8",
    # grafana/mimir: tag mimir-3.1.5, Docker Hub tag pushed 2026-08-20 (a public ADR's re-evaluation log; CHANGELOG:
    # Go 1.26.6 CVE fixes only); grafana/mimir#16082 prepared 3.1.3.
    "mimir": "grafana/mimir:3.1.5",
    # grafana/grafana 13.2.3: digest-pinned in public use (grafana/grafana:13.2.3@sha256:b28bae15e219...).
    "grafana": "grafana/grafana:13.2.3",
    # grafana/alloy v1.19.2: pulled and validated against in several public repositories (Aug-Sept 2026).
    "alloy": "grafana/alloy:v1.19.2",
    "node-exporter": "prom/node-exporter:v1.10.2",
    "cadvisor": "ghcr.io/google/cadvisor:v0.56.2",  # gcr.io only carries releases before v0.53
    "postgres-exporter": "prometheuscommunity/postgres-exporter:v0.19.1",
    "blackbox": "prom/blackbox-exporter:v0.28.0",
    "volume-usage": "busybox:1.37.0",
}
