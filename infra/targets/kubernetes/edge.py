"""The Kubernetes edge: the Docker edge (infra/services/edge/proxy.py) as Gateway API objects.

One Gateway per stack namespace: an HTTP listener on 80 (HTTP->HTTPS redirect and the ACME
HTTP-01 challenges) and one HTTPS listener per public host on 443, each with its own
certificate. One HTTPRoute per public catalog service, to its Service on its public port.
What nginx-proxy did per host comes from Envoy Gateway's policy objects:

- basic auth: SecurityPolicy `basicAuth`, its htpasswd in a Secret built from the same
  pulumi-random password as the Docker edge's (SHA form: see `htpasswd_line`);
- per-client rate limits: BackendTrafficPolicy local rate limit per source address;
- body-size limits and security headers: a small Lua filter (EnvoyExtensionPolicy);
- the API's `/metrics` answered 404 at the edge: an HTTPRouteFilter direct response.

Why Envoy Gateway: its v1.9.0 release passes the Gateway API v1.6.1 conformance suite with
every core and extended test of the GATEWAY-HTTP and GATEWAY-TLS profiles
(kubernetes-sigs/gateway-api conformance/reports/v1.6/envoy-gateway/experimental-v1.9.0-default-report.yaml),
and it has first-party policies for all four Docker edge features above; NGINX Gateway Fabric's
v1.6 report is for a pre-release (2.7.0-pre-release) and it has no basic-auth policy.

TLS: cert-manager's Gateway support (the `cert-manager.io/issuer` annotation; cert-manager docs
"Securing Gateway Resources", https://cert-manager.io/docs/usage/gateway/) creates one
Certificate per HTTPS listener (its hostname, its `certificateRefs` Secret); the namespaced
Issuer solves HTTP-01 through this Gateway (the `gatewayHTTPRoute` solver, cert-manager docs
"HTTP01", https://cert-manager.io/docs/configuration/acme/http01/). An Issuer, not a
ClusterIssuer: each stack picks its own CA (`acmeStaging`) and contact (`acmeEmail`).

Every apiVersion, kind and field was read at the pinned versions (infra/targets/kubernetes/addons.py):
Gateway API v1.6.1 apis/v1/{gateway,httproute}_types.go, Envoy Gateway v1.9.0 api/v1alpha1/,
cert-manager v1.21.1 pkg/apis/{certmanager,acme}/v1/.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ...services.edge.proxy import HSTS, SECURITY_HEADERS
from ...catalog.model import ServiceSpec
from ...secrets import BASIC_AUTH_USER
from ...settings import size_bytes
from .addons import GATEWAY_CLASS, ClusterAddons
from .common import KubeContext

GATEWAY_API = "gateway.networking.k8s.io"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io"
GATEWAY_NAME = "edge"
ISSUER_NAME = "letsencrypt"
HTTP_LISTENER = "http"

#: Let's Encrypt's ACME directories; staging as the Docker edge's ACME_CA_URI (infra/services/edge/proxy.py).
LE_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
LE_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

#: cert-manager's HTTP-01 solver pods: label and port (v1.21.1 pkg/apis/acme/v1/types.go
#: SolverIdentificationLabelKey; pkg/issuer/acme/http/http.go acmeSolverListenPort).
SOLVER_LABEL = "acme.cert-manager.io/http01-solver"
SOLVER_PORT = 8089

#: Source ranges whose every address gets its own rate-limit bucket (`Distinct`, supported for local
#: rate limits since Envoy Gateway v1.4.0: release-notes/v1.4.0.yaml).
CLIENT_RANGES = ("0.0.0.0/0", "::/0")



@dataclass
class Edge:
    gateway: pulumi.Resource
    routes: dict[str, pulumi.Resource] = field(default_factory=dict)
    issuer: pulumi.Resource | None = None


def https_listener(service: str) -> str:
    return f"https-{service}"


def tls_secret(service: str) -> str:
    return f"{service}-tls"


def htpasswd_secret(service: str) -> str:
    return f"{service}-htpasswd"


def htpasswd_line(password: str) -> str:
    """Envoy Gateway reads only `{SHA}` htpasswd entries (v1.9.0 api/v1alpha1/basic_auth_types.go:
    "Right now, only SHA hash algorithm is supported"), not the Docker edge's bcrypt. Unsalted SHA-1
    of a 24-character random password (about 143 bits) is still out of reach of a guessing attack."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{BASIC_AUTH_USER}:{{SHA}}{digest}\n"


def lua_script(spec: ServiceSpec, tls: bool) -> str:
    """nginx's `client_max_body_size` and header defaults, as a Lua filter.

    Why not BackendTrafficPolicy `requestBuffer`: it holds each whole request in the proxy's memory
    (MinIO and MLflow allow 5g and 2g bodies) and turns off protocol upgrades (v1.9.0
    backendtrafficpolicy_types.go RequestBuffer), which the UI's WebSocket needs. This check reads
    Content-Length and answers 413 as nginx does; a chunked body without a length is not counted.
    Headers are added only when the app sent none, as the Docker edge's `map`s do.

    Request bodies stream through Envoy as they arrive (what the Docker edge's API vhost gets from
    `proxy_request_buffering off`): this script reads headers only, never `body()` (which makes
    Envoy buffer the whole body: Envoy docs, HTTP filters, Lua, "body()"), and Envoy "can and will
    proxy arbitrarily large bodies on routes where all L7 filters are streaming" (Envoy docs, FAQ,
    "How do I configure flow control?").
    """
    defaults = ([("Strict-Transport-Security", HSTS)] if tls else []) + list(SECURITY_HEADERS.items())
    table = ", ".join(f'{{"{name.lower()}", "{value}"}}' for name, value in defaults)
    return (
        f"local max_body = {size_bytes(spec.public.max_body)}\n"
        f"local defaults = {{{table}}}\n"
        "function envoy_on_request(handle)\n"
        '  local length = tonumber(handle:headers():get("content-length"))\n'
        "  if length ~= nil and length > max_body then\n"
        '    handle:respond({[":status"] = "413", ["content-type"] = "text/plain"}, "request body too large\\n")\n'
        "  end\n"
        "end\n"
        "function envoy_on_response(handle)\n"
        "  local headers = handle:headers()\n"
        "  for _, header in ipairs(defaults) do\n"
        "    if headers:get(header[1]) == nil then\n"
        "      headers:add(header[1], header[2])\n"
        "    end\n"
        "  end\n"
        "end\n"
    )


def rate_limit_rules(spec: ServiceSpec) -> list[dict]:
    """nginx `limit_req rate=N r/s burst=B nodelay` per client address, as Envoy's token bucket.

    Envoy refills a bucket of `requests` tokens once per `unit` (v1.9.0 ratelimit_types.go
    RateLimitValue), with no separate burst: a bucket of N*60 per minute keeps nginx's long-run
    rate per client and allows bursts larger than nginx's `burst`.
    """
    limit = spec.public.rate_limit
    return [
        {
            "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}],
            "limit": {"requests": limit.per_second * 60, "unit": "Minute"},
        }
        for cidr in CLIENT_RANGES
    ]


def metrics_hidden(spec: ServiceSpec) -> bool:
    """The Docker edge answers 404 for `/metrics` where the public port serves them (infra/services/edge/proxy.py)."""
    return bool(spec.metrics and spec.metrics.port == spec.public.port)


def _custom(ctx: KubeContext, urn: str, api_version: str, kind: str, name: str, spec: dict, service: str | None,
            deps: list[pulumi.Resource], annotations: dict[str, str] | None = None) -> k8s.apiextensions.CustomResource:  # fmt: skip
    metadata: dict[str, Any] = ctx.metadata(name, service)
    if annotations:
        metadata["annotations"] = annotations
    return k8s.apiextensions.CustomResource(
        urn, api_version=api_version, kind=kind, metadata=metadata, spec=spec, opts=ctx.opts(deps)
    )


def issuer(ctx: KubeContext, addons: ClusterAddons) -> pulumi.Resource:
    """cert-manager v1 Issuer (pkg/apis/certmanager/v1/types_issuer.go; ACMEIssuer and
    ACMEChallengeSolverHTTP01GatewayHTTPRoute in pkg/apis/acme/v1/types_issuer.go at v1.21.1)."""
    s = ctx.settings
    solver_route = {
        # The challenge route attaches to the HTTP listener; its Exact path outranks the redirect's
        # PathPrefix "/" (Gateway API v1.6.1 httproute_types.go, HTTPRouteRule.Matches precedence).
        "parentRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": HTTP_LISTENER}],
        "serviceType": "ClusterIP",
    }
    spec = {
        "acme": {
            "email": s.acmeEmail,
            "server": LE_STAGING if s.acmeStaging else LE_PRODUCTION,
            "privateKeySecretRef": {"name": f"{ISSUER_NAME}-account-key"},
            "solvers": [{"http01": {"gatewayHTTPRoute": solver_route}}],
        }
    }
    return _custom(ctx, ctx.urn_name("edge", "issuer"), "cert-manager.io/v1", "Issuer", ISSUER_NAME, spec, None,
                   addons.cert_manager)  # fmt: skip


def envoy_proxy(ctx: KubeContext, addons: ClusterAddons) -> pulumi.Resource:
    """Rate limit before basic auth, as nginx's preaccess phase runs before auth: guesses count too.
    Envoy Gateway's default order puts basic_auth (8) before local_ratelimit (302)
    (v1.9.0 internal/xds/translator/httpfilters.go newOrderedHTTPFilter; EnvoyProxy.spec.filterOrder)."""
    spec = {"filterOrder": [{"name": "envoy.filters.http.local_ratelimit", "before": "envoy.filters.http.basic_auth"}]}
    return _custom(ctx, ctx.urn_name("edge", "envoyproxy"), f"{ENVOY_GATEWAY_API}/v1alpha1", "EnvoyProxy",
                   GATEWAY_NAME, spec, None, addons.gateway)  # fmt: skip


def gateway(ctx: KubeContext, public: dict[str, ServiceSpec], deps: list[pulumi.Resource]) -> pulumi.Resource:
    """Gateway API v1 Gateway (apis/v1/gateway_types.go at v1.6.1): Listener name/hostname/port/
    protocol/tls{mode,certificateRefs}/allowedRoutes, spec.infrastructure.parametersRef."""
    tls = ctx.settings.tls
    listeners = [{"name": HTTP_LISTENER, "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}}]
    if tls:
        listeners += [
            {
                "name": https_listener(name),
                "hostname": ctx.settings.public_hosts[name],
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": tls_secret(name)}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }
            for name in sorted(public)
        ]
    spec = {
        "gatewayClassName": GATEWAY_CLASS,
        "infrastructure": {"parametersRef": {"group": ENVOY_GATEWAY_API, "kind": "EnvoyProxy", "name": GATEWAY_NAME}},
        "listeners": listeners,
    }
    annotations = {"cert-manager.io/issuer": ISSUER_NAME} if tls else None
    return _custom(ctx, ctx.urn_name("edge", "gateway"), f"{GATEWAY_API}/v1", "Gateway", GATEWAY_NAME, spec, None,
                   deps, annotations)  # fmt: skip


def _parent(ctx: KubeContext, service: str) -> dict:
    section = https_listener(service) if ctx.settings.tls else HTTP_LISTENER
    return {"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": section}


def redirect_route(ctx: KubeContext, public: dict[str, ServiceSpec], gw: pulumi.Resource) -> pulumi.Resource:
    """HTTP -> HTTPS with 301, as nginx-proxy's default HTTPS_METHOD=redirect (HTTPRouteFilter
    RequestRedirect, scheme and statusCode: Gateway API v1.6.1 httproute_types.go)."""
    spec = {
        "parentRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": HTTP_LISTENER}],
        "hostnames": [ctx.settings.public_hosts[n] for n in sorted(public)],
        "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
    }
    return _custom(ctx, ctx.urn_name("edge", "https-redirect"), f"{GATEWAY_API}/v1", "HTTPRoute", "https-redirect",
                   spec, None, [gw])  # fmt: skip


def service_route(ctx: KubeContext, spec: ServiceSpec, gw: pulumi.Resource, svc: pulumi.Resource,
                  addons: ClusterAddons) -> pulumi.Resource:  # fmt: skip
    """One HTTPRoute per public service to its Service and public port (HTTPBackendRef name/port)."""
    name = spec.name
    rules: list[dict] = []
    deps = [gw, svc]
    if metrics_hidden(spec):
        not_found = _custom(
            ctx, ctx.urn_name(name, "metrics-not-found"), f"{ENVOY_GATEWAY_API}/v1alpha1", "HTTPRouteFilter",
            f"{name}-metrics-not-found",
            # v1.9.0 api/v1alpha1/httproutefilter_types.go HTTPDirectResponseFilter; CustomResponseBody in shared_types.go.
            {"directResponse": {"statusCode": 404, "contentType": "text/plain", "body": {"type": "Inline", "inline": "not found\n"}}},
            name, addons.gateway,
        )  # fmt: skip
        deps.append(not_found)
        rules.append(
            {
                "matches": [{"path": {"type": "Exact", "value": spec.metrics.path}}],
                "filters": [
                    {
                        "type": "ExtensionRef",
                        "extensionRef": {"group": ENVOY_GATEWAY_API, "kind": "HTTPRouteFilter", "name": f"{name}-metrics-not-found"},
                    }
                ],
            }
        )
    rules.append({"backendRefs": [{"name": name, "port": spec.public.port}]})
    body = {"parentRefs": [_parent(ctx, name)], "hostnames": [ctx.settings.public_hosts[name]], "rules": rules}
    return _custom(ctx, ctx.urn_name(name, "route"), f"{GATEWAY_API}/v1", "HTTPRoute", name, body, name, deps)


def _target(route: str) -> list[dict]:
    return [{"group": GATEWAY_API, "kind": "HTTPRoute", "name": route}]


def route_policies(ctx: KubeContext, spec: ServiceSpec, route: pulumi.Resource, secrets: Any) -> list[pulumi.Resource]:
    """Envoy Gateway v1alpha1 policies attached to the service's HTTPRoute (`targetRefs`,
    PolicyTargetReferences in api/v1alpha1/policy_helpers.go at v1.9.0)."""
    name = spec.name
    api = f"{ENVOY_GATEWAY_API}/v1alpha1"
    out = [
        _custom(ctx, ctx.urn_name(name, "traffic-policy"), api, "BackendTrafficPolicy", name,
                {"targetRefs": _target(name), "rateLimit": {"local": {"rules": rate_limit_rules(spec)}}},
                name, [route]),
        _custom(ctx, ctx.urn_name(name, "extension-policy"), api, "EnvoyExtensionPolicy", name,
                {"targetRefs": _target(name), "lua": [{"type": "Inline", "inline": lua_script(spec, ctx.settings.tls)}]},
                name, [route]),
    ]  # fmt: skip
    if spec.public.basic_auth:
        password, _ = secrets.basic_auth(name)
        htpasswd = k8s.core.v1.Secret(
            ctx.urn_name(name, "htpasswd"),
            metadata=ctx.metadata(htpasswd_secret(name), name),
            type="Opaque",
            # The key Envoy Gateway reads (BasicAuthUsersSecretKey in basic_auth_types.go).
            string_data={".htpasswd": pulumi.Output.secret(pulumi.Output.from_input(password).apply(htpasswd_line))},
            opts=ctx.opts(),
        )
        out.append(htpasswd)
        out.append(
            _custom(ctx, ctx.urn_name(name, "security-policy"), api, "SecurityPolicy", name,
                    {"targetRefs": _target(name),
                     "basicAuth": {"users": {"group": "", "kind": "Secret", "name": htpasswd_secret(name)}}},
                    name, [route, htpasswd])
        )  # fmt: skip
    return out


def solver_policy(ctx: KubeContext) -> pulumi.Resource:
    """The namespace denies all ingress (infra/targets/kubernetes/network.py): cert-manager's HTTP-01 solver pods
    run here and must be reachable from the gateway's namespace, on their port only."""
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.settings.kubernetes.gatewayNamespace}}}
    return k8s.networking.v1.NetworkPolicy(
        ctx.urn_name("acme-solver", "policy"),
        metadata=ctx.metadata("acme-http01-solver"),
        spec={
            "podSelector": {"matchLabels": {SOLVER_LABEL: "true"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": SOLVER_PORT}]}],
        },
        opts=ctx.opts(),
    )


def deploy_edge(ctx: KubeContext, secrets: Any, services: dict[str, pulumi.Resource], addons: ClusterAddons) -> Edge:
    """`services`: each rendered service's Service object, which its route waits for."""
    public = {n: s for n, s in ctx.catalog.public().items() if n in services}
    proxy = envoy_proxy(ctx, addons)
    deps = [*addons.gateway, proxy]
    iss = None
    if ctx.settings.tls:
        iss = issuer(ctx, addons)
        solver_policy(ctx)
        deps.append(iss)
    gw = gateway(ctx, public, deps)
    edge = Edge(gateway=gw, issuer=iss)
    if ctx.settings.tls:
        redirect_route(ctx, public, gw)
    for name, spec in sorted(public.items()):
        route = service_route(ctx, spec, gw, services[name], addons)
        route_policies(ctx, spec, route, secrets)
        edge.routes[name] = route
    return edge
