"""Prometheus alert rules. Prometheus sends firing alerts to the stack's Alertmanager, which
notifies the receivers of the stack file (`alerting`); without one they only show in Prometheus,
Alertmanager and Grafana, and the preview warns."""

from __future__ import annotations

from typing import Iterable

import yaml

from ..catalog.model import ServiceSpec


def alert_rules(services: Iterable[ServiceSpec], service_rules: Iterable[dict] = ()) -> str:
    """The rules file: any scrape target down, then the rules each service module states for itself."""
    scraped = sorted(s.name for s in services if s.metrics)
    rules = [
        {
            "alert": "ServiceDown",
            "expr": "up == 0",
            "for": "2m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "{{ $labels.job }} target {{ $labels.instance }} is down"},
        },
    ]
    rules += list(service_rules)
    doc = {"groups": [{"name": "platform", "rules": rules}]}
    header = (
        "# Generated from the catalog; Prometheus sends firing alerts to Alertmanager, which notifies the\n"
        "# stack's `alerting` receivers. Scraped jobs: " + ", ".join(scraped) + "\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)
