"""The provisioned Grafana dashboard "Platform overview".

Panels are declared as data (title, queries, unit) by the service whose metrics they show
(`DASHBOARD_ROWS` in its module; Grafana's module orders them), so tests can check every
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


def quantiles(metric: str, by: str = "") -> tuple[Query, ...]:
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return tuple(
        Query(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[{RATE}])))", f"p{int(q * 100)}{suffix}")
        for q in (0.5, 0.95, 0.99)
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


def platform_overview(rows: tuple[Panel, ...]) -> dict:
    """The dashboard: `rows` (the panels the services state for themselves, in order), then errors in the logs."""
    panels = [_panel_json(p, i) for i, p in enumerate(rows)]
    panels.append(_logs_panel(len(rows)))
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


def dashboard_files(rows: tuple[Panel, ...]) -> dict[str, str]:
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
        f"{DASHBOARDS_DIR}/platform-overview.json": json.dumps(platform_overview(rows), indent=2) + "\n",
    }
