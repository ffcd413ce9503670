"""Exporters for what has no metrics endpoint of its own (the host, every container, the stack's
volumes, PostgreSQL, the proxy's certificates), in catalog order. They join only the internal
network, except the blackbox exporter, which reaches the proxy where the certificates live."""

from . import blackbox, cadvisor, node_exporter, postgres_exporter, volume_usage

SERVICES = (node_exporter, volume_usage, cadvisor, postgres_exporter, blackbox)
