"""HTTP and TLS plumbing: trust stores, curl-style `--connect-to`, and the certificate probe.

`--connect-to HOST1:PORT1:HOST2:PORT2` (curl's syntax; an empty HOST1 or PORT1 matches
any) sends a URL's connection elsewhere while keeping its Host header and TLS SNI, so a
stack can be verified before DNS points at it (and the tests need no /etc/hosts).
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

#: Let's Encrypt's staging roots ("(STAGING) Bogus Broccoli X2", "(STAGING) Yearning Yucca
#: Root YE", "(STAGING) Yonder Yam Root YR"), copied from letsencrypt/website
#: static/certs/staging/{letsencrypt-stg-root-x2.pem,gen-y/root-ye.pem,gen-y/root-yr.pem}.
#: They are in no system trust store; verify trusts them only on stacks with `acmeStaging`.
LE_STAGING_ROOTS = Path(__file__).with_name("letsencrypt-staging-roots.pem")


@dataclass(frozen=True)
class ConnectTo:
    host: str  # "" = any host
    port: int | None  # None = any port
    to_host: str
    to_port: int

    @classmethod
    def parse(cls, spec: str) -> "ConnectTo":
        parts = spec.split(":")
        if len(parts) != 4 or not parts[2] or not parts[3].isdigit() or (parts[1] and not parts[1].isdigit()):
            raise ValueError(f"--connect-to {spec!r}: expected HOST1:PORT1:HOST2:PORT2 (HOST1/PORT1 may be empty)")
        return cls(parts[0], int(parts[1]) if parts[1] else None, parts[2], int(parts[3]))


class Routes:
    def __init__(self, rules: list[ConnectTo] = ()):
        self.rules = list(rules)

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        for r in self.rules:
            if r.host in ("", host) and r.port in (None, port):
                return r.to_host, r.to_port
        return host, port


def trust_context(ca_files: list[str] = (), system: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context() if system else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not system:
        ctx.check_hostname, ctx.verify_mode = True, ssl.CERT_REQUIRED
    for f in ca_files:
        ctx.load_verify_locations(cafile=f)
    return ctx


class RoutedTransport(httpx.BaseTransport):
    """Connects where `Routes` says, with the URL's host as Host header and SNI.

    One connection pool per original host: a pool keyed by the rewritten address
    would reuse a TLS session negotiated for another host's name."""

    def __init__(self, routes: Routes, ssl_context: ssl.SSLContext):
        self.routes = routes
        self.ssl_context = ssl_context
        self.pools: dict[str, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        to_host, to_port = self.routes.resolve(url.host, port)
        pool = self.pools.setdefault(url.host, httpx.HTTPTransport(verify=self.ssl_context))
        if (to_host, to_port) == (url.host, port):
            return pool.handle_request(request)
        routed = httpx.Request(
            request.method,
            url.copy_with(host=to_host, port=to_port),
            headers=request.headers,  # keeps the original Host header
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": url.host},
        )
        return pool.handle_request(routed)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()


def http_client(routes: Routes, ssl_context: ssl.SSLContext, timeout: float = 20.0) -> httpx.Client:
    return httpx.Client(transport=RoutedTransport(routes, ssl_context), timeout=timeout, follow_redirects=False)


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    names: tuple[str, ...]
    not_after: dt.datetime

    @property
    def days_left(self) -> int:
        return (self.not_after - dt.datetime.now(dt.timezone.utc)).days

    @classmethod
    def from_der(cls, der: bytes) -> "Certificate":
        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            names = tuple(san.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            names = ()
        return cls(_cn(cert.subject), _cn(cert.issuer), names, cert.not_valid_after_utc)


def _cn(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else name.rfc4514_string()


def peer_certificate(routes: Routes, host: str, port: int, timeout: float = 10.0) -> Certificate:
    """The leaf certificate served for `host` (SNI), read without judging it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with _connect(routes, host, port, timeout) as sock, ctx.wrap_socket(sock, server_hostname=host) as tls:
        return Certificate.from_der(tls.getpeercert(binary_form=True))


def verify_handshake(routes: Routes, host: str, port: int, ctx: ssl.SSLContext, timeout: float = 10.0) -> str | None:
    """None if a handshake with `ctx` (chain, validity dates, host name) succeeds, else OpenSSL's reason."""
    try:
        with _connect(routes, host, port, timeout) as sock, ctx.wrap_socket(sock, server_hostname=host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_message or str(exc)


def _connect(routes: Routes, host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection(routes.resolve(host, port), timeout=timeout)
