"""Prometheus alert rules. Prometheus sends firing alerts to the stack's Alertmanager, which
notifies the receivers of the stack file (`alerting`); without one they only show in Prometheus,
Alertmanager and Grafana, and the preview warns."""

from __future__ import annotations

from typing import Iterable

import yaml

from ..catalog.model import ServiceSpec
from .observability import CERTIFICATE_JOB, CERTIFICATE_PROBER


def alert_rules(services: Iterable[ServiceSpec], extra: Iterable[dict] = ()) -> str:
    scraped = sorted(s.name for s in services if s.metrics)
    rules = [
        {
            "alert": "ServiceDown",
            "expr": "up == 0",
            "for": "2m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "{{ $labels.job }} target {{ $labels.instance }} is down"},
        },
        {
            "alert": "QueueBacklogGrowing",
            "expr": "sum(rabbitmq_queue_messages_ready) > 100 and deriv(sum(rabbitmq_queue_messages_ready)[10m:1m]) > 0",
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "RabbitMQ backlog keeps growing"},
        },
        {
            "alert": "JobsFailing",
            "expr": 'sum(increase(pipeline_jobs_total{status="failed"}[15m])) > 0',
            "for": "0m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "pipeline jobs failed in the last 15 minutes"},
        },
        {
            # The API's job reconciler (app/api/pipeline_api/reconciler.py) published jobs again: once
            # is a healed outage, repeatedly means messages keep getting lost.
            "alert": "JobsHealedRepeatedly",
            "expr": "sum(increase(pipeline_jobs_healed_total[1h])) > 3",
            "for": "0m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "more than 3 jobs were found without a message or worker in the last hour and "
                "published again (the API logs each as 'healed job')"
            },
        },
        {
            "alert": "DiskFilling",
            "expr": '(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes) < 0.10',
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "filesystem {{ $labels.mountpoint }} has less than 10% free"},
        },
    ]
    if CERTIFICATE_PROBER in scraped:
        rules += [
            {
                "alert": "CertificateExpiringSoon",
                "expr": f'probe_ssl_earliest_cert_expiry{{job="{CERTIFICATE_JOB}"}} - time() < 14 * 86400',
                "for": "1h",
                "labels": {"severity": "warning"},
                "annotations": {
                    "summary": "the certificate for {{ $labels.instance }} expires in less than 14 days "
                    "(acme-companion renews at 30 days)"
                },
            },
            {
                "alert": "CertificateProbeFailing",
                "expr": f'probe_success{{job="{CERTIFICATE_JOB}"}} == 0',
                "for": "30m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "no TLS handshake with the proxy for {{ $labels.instance }}"},
            },
        ]
    rules += list(extra)
    doc = {"groups": [{"name": "platform", "rules": rules}]}
    header = (
        "# Generated from the catalog; Prometheus sends firing alerts to Alertmanager, which notifies the\n"
        "# stack's `alerting` receivers. Scraped jobs: " + ", ".join(scraped) + "\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)
