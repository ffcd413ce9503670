"""The provisioned Grafana dashboard "Platform overview".

Panels are declared as data (title, queries, unit) so tests can check every
query with promtool and against the metrics the services really expose.
`$datasource` defaults to Mimir (long-term); Prometheus can be picked instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

DASHBOARD_UID = "platform-overview"
DASHBOARDS_DIR = "/etc/grafana/dashboards"
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""


def _quantiles(metric: str, by: str = "") -> tuple[Query, ...]:
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return tuple(
        Query(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{RATE}])))", f"p{int(q * 100)}{suffix}")
        for q in (0.5, 0.95, 0.99)
    )


def _share_of_requests(status: str, legend: str) -> Query:
    """Share of API requests whose status matches the regex `status`."""
    return Query(
        f'sum(rate(api_requests_total{{status=~"{status}"}}[{RATE}])) / sum(rate(api_requests_total[{RATE}]))', legend
    )


def _per_service(expr: str) -> Query:
    """A cAdvisor expression summed per catalog service (the container label cAdvisor keeps)."""
    return Query(f"sum by (container_label_mlops_service) ({expr})", "{{container_label_mlops_service}}")


SERVICE = 'container_label_mlops_service!=""'

PANELS: tuple[Panel, ...] = (
    Panel(
        "Services up",
        (Query("min by (job) (up)", "{{job}}"),),
        kind="stat",
        description="Every scrape target: 1 = up, 0 = down (alert ServiceDown after 2 minutes).",
    ),
    Panel(
        "API request rate",
        (Query(f"sum by (route) (rate(api_requests_total[{RATE}]))", "{{route}}"),),
        unit="reqps",
    ),
    Panel(
        "API error rate",
        (_share_of_requests("5..", "5xx share"), _share_of_requests("4..", "4xx share")),
        unit="percentunit",
    ),
    Panel("API latency", _quantiles("api_request_duration_seconds"), unit="s"),
    Panel(
        "Queue depth",
        (
            Query("sum(rabbitmq_queue_messages_ready)", "ready"),
            Query("sum(rabbitmq_queue_messages_unacked)", "in progress (unacked)"),
        ),
        description="All queues of the pipeline vhost, the dead-letter queue included.",
    ),
    Panel("Job duration", _quantiles("pipeline_job_duration_seconds", "kind"), unit="s"),
    Panel(
        "Jobs finished",
        (Query(f"sum by (kind, status) (increase(pipeline_jobs_total[{RATE}]))", "{{kind}} {{status}}"),),
        description="Failed jobs raise the JobsFailing alert.",
    ),
    Panel("Container CPU", (_per_service(f"rate(container_cpu_usage_seconds_total{{{SERVICE}}}[{RATE}])"),), unit="cores"),
    Panel("Container memory", (_per_service(f"container_memory_working_set_bytes{{{SERVICE}}}"),), unit="bytes"),
    Panel(
        "Disk use of volumes",
        (Query("max by (volume) (mlops_volume_used_bytes)", "{{volume}}"),),
        unit="bytes",
        description="Measured with du every 5 minutes by the volume-usage container.",
    ),
    Panel(
        "Filesystem holding the volumes",
        (
            Query(
                '1 - node_filesystem_avail_bytes{mountpoint=~"/|/var/lib/docker"}'
                ' / node_filesystem_size_bytes{mountpoint=~"/|/var/lib/docker"}',
                "{{mountpoint}} used",
            ),
        ),
        unit="percentunit",
        description="Alert DiskFilling fires below 10% free.",
    ),
    Panel(
        "Data stored",
        (
            Query("sum by (datname) (pg_database_size_bytes)", "PostgreSQL {{datname}}"),
            Query("sum(minio_cluster_usage_total_bytes)", "S3 objects (MinIO)"),
        ),
        unit="bytes",
    ),
    Panel(
        "Backup age",
        (Query("time() - mlops_backup_last_success_timestamp_seconds", "{{kind}}"),),
        unit="s",
        description="Since the last successful backup per kind; alert BackupTooOld fires at 1.5 intervals.",
    ),
    Panel("Backup size", (Query("mlops_backup_size_bytes", "{{kind}}"),), unit="bytes"),
    Panel(
        "Backup duration",
        (
            Query("mlops_backup_duration_seconds", "{{kind}}"),
            Query("mlops_backup_last_attempt_failed", "{{kind}} failed"),
        ),
        unit="s",
    ),
)


#: How a stat panel shows `up`: 1 = UP in green, 0 = DOWN in red.
UP_DOWN = {
    "mappings": [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}],
    "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
}


def _panel_json(panel: Panel, index: int) -> dict:
    width = 8
    stat = panel.kind == "stat"
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": width, "x": (index % 3) * width, "y": (index // 3) * 8},
        "fieldConfig": {"defaults": {"unit": panel.unit, **(UP_DOWN if stat else {})}, "overrides": []},
        "options": {"colorMode": "background", "graphMode": "none"} if stat else {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": q.expr,
                "legendFormat": q.legend,
            }
            for i, q in enumerate(panel.queries)
        ],
    }


def _logs_panel(index: int) -> dict:
    return {
        "id": index + 1,
        "type": "logs",
        "title": "Errors in the platform's logs",
        "description": "JSON lines carry trace_id: open one to jump to its trace in Tempo.",
        "datasource": {"type": "loki", "uid": "loki"},
        "gridPos": {"h": 10, "w": 24, "x": 0, "y": ((index + 2) // 3) * 8},
        "options": {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending"},
        "targets": [
            {
                "refId": "A",
                "datasource": {"type": "loki", "uid": "loki"},
                # JSON ("level": "error") from our apps and logfmt (level=error) from the Grafana stack.
                "expr": '{service=~".+"} |~ `(?i)level"?[=:] ?"?(error|critical|fatal)`',
            }
        ],
    }


def platform_overview() -> dict:
    panels = [_panel_json(p, i) for i, p in enumerate(PANELS)]
    panels.append(_logs_panel(len(PANELS)))
    return {
        "uid": DASHBOARD_UID,
        "title": "Platform overview",
        "tags": ["mlops-platform"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Metrics",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "Mimir", "value": "mimir"},
                }
            ]
        },
        "panels": panels,
    }


def dashboard_files() -> dict[str, str]:
    """Container path -> content: the provider and the dashboard it loads."""
    provider = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "platform",
                "folder": "Platform",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": DASHBOARDS_DIR},
            }
        ],
    }
    return {
        "/etc/grafana/provisioning/dashboards/platform.yaml": yaml.safe_dump(provider, sort_keys=False),
        f"{DASHBOARDS_DIR}/platform-overview.json": json.dumps(platform_overview(), indent=2) + "\n",
    }
