"""Every URL answers over HTTPS with a certificate valid for its host.

A certificate the normal trust store rejects is accepted only on stacks that use
Let's Encrypt's staging CA (`tls.acmeStaging` in the outputs) and only if it chains
to a staging root; on any other stack a staging certificate is a failure."""

from __future__ import annotations

from urllib.parse import urlsplit

from .context import Context
from .report import CheckFailed, Skipped


def url_check(ctx: Context, name: str, url: str):
    def check() -> str:
        parts = urlsplit(url)
        if parts.scheme != "https":
            if not ctx.outputs.tls:
                status = ctx.http.get(url).status_code
                raise Skipped(f"plain HTTP (tls disabled on this stack); HTTP {status}")
            raise CheckFailed(f"{url}: not HTTPS although the stack has tls enabled")
        host, port = parts.hostname, parts.port or 443
        try:
            cert = ctx.net.peer_certificate(host, port)
        except OSError as exc:  # DNS, refused, TLS handshake: name where it failed
            raise CheckFailed(f"{host}:{port}: no TLS connection: {type(exc).__name__}: {exc}") from None
        problem = ctx.net.verify(host, port, ctx.trusted)
        issued_by = f"issuer {cert.issuer}, {cert.days_left} days left"
        if problem is not None:
            staging_problem = ctx.net.verify(host, port, ctx.staging_only)
            if staging_problem is None and not ctx.outputs.acme_staging:
                raise CheckFailed(
                    f"{host}: certificate from Let's Encrypt's staging CA ({cert.issuer}) "
                    "on a stack that does not use it (tls.acmeStaging is false)"
                )
            if staging_problem is not None:
                reason = staging_problem if ctx.outputs.acme_staging else problem
                raise CheckFailed(f"{host}: certificate rejected: {reason} ({issued_by}, names {', '.join(cert.names)})")
            issued_by += " (staging CA, as configured)"
        status = ctx.http.get(url).status_code
        if status >= 500:
            raise CheckFailed(f"{host}: HTTP {status} ({issued_by})")
        return f"HTTP {status}, {issued_by}"

    return f"https {name}", check


def checks(ctx: Context):
    return [url_check(ctx, name, url) for name, url in sorted(ctx.outputs.urls.items())]
