"""The observability layer's services, in catalog order: Prometheus (scrapes, alerts, remote-writes
to Mimir), Alertmanager, Loki with the Alloy log agent, Tempo for traces, Mimir, Grafana on top."""

from . import alertmanager, alloy, grafana, loki, mimir, prometheus, tempo

SERVICES = (prometheus, alertmanager, loki, tempo, mimir, alloy, grafana)
