"""What every check needs: the outputs, an HTTP client, trust stores and the options."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import httpx

from . import net
from .outputs import StackOutputs


@dataclass
class Options:
    ca_files: list[str] = field(default_factory=list)  # extra trust roots (private CA, tests)
    staging_ca_files: list[str] = field(default_factory=lambda: [str(net.LE_STAGING_ROOTS)])
    connect_to: list[net.ConnectTo] = field(default_factory=list)
    job_timeout: float = 300.0  # bound for each job of the end-to-end run
    logs_window: str = "24h"  # every service must have log lines in this window
    logs_fresh_seconds: float = 300.0  # ... and the stack's newest line must be this recent
    http_timeout: float = 20.0


class Net:
    def __init__(self, routes: net.Routes):
        self.routes = routes

    def peer_certificate(self, host: str, port: int) -> net.Certificate:
        return net.peer_certificate(self.routes, host, port)

    def verify(self, host: str, port: int, ctx: ssl.SSLContext) -> str | None:
        return net.verify_handshake(self.routes, host, port, ctx)


@dataclass
class Context:
    outputs: StackOutputs
    options: Options
    trusted: ssl.SSLContext
    staging_only: ssl.SSLContext
    net: Net
    http: httpx.Client
    trace_id: str | None = None  # the verify job's trace, set by the end-to-end check

    @classmethod
    def create(cls, outputs: StackOutputs, options: Options) -> "Context":
        routes = net.Routes(options.connect_to)
        trusted = net.trust_context(options.ca_files)
        staging_only = net.trust_context(options.staging_ca_files, system=False)
        # Requests trust what the certificate check accepts for this stack.
        client_ctx = net.trust_context(options.ca_files + (options.staging_ca_files if outputs.acme_staging else []))
        http = net.http_client(routes, client_ctx, options.http_timeout)
        return cls(outputs, options, trusted, staging_only, Net(routes), http)

    def url(self, service: str, path: str = "") -> str:
        try:
            return self.outputs.urls[service].rstrip("/") + "/" + path.lstrip("/")
        except KeyError:
            raise KeyError(f"outputs.urls.{service}: missing") from None

    def creds(self, service: str) -> dict[str, str]:
        try:
            return self.outputs.credentials[service]
        except KeyError:
            raise KeyError(f"outputs.credentials.{service}: missing") from None

    def basic(self, service: str) -> tuple[str, str]:
        c = self.creds(service)
        return c["user"], c["password"]
