"""Services per port and NetworkPolicies generated from the catalog.

Default deny (ingress and egress) for the whole namespace, DNS for every pod,
then one policy per service allowing exactly `plan.allowed_edges`: ingress from
each client on the ports it uses, egress to each server likewise. Public services
also accept their public port from the gateway's namespace (the Docker `edge`
network as policy); nothing else enters from outside the namespace.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...catalog.model import ServiceSpec
from .common import KubeContext, port_name, selector

#: Cluster DNS (kube-dns/CoreDNS) as every conformant cluster labels it.
DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def service(ctx: KubeContext, spec: ServiceSpec, ports: set[int]) -> k8s.core.v1.Service:
    return k8s.core.v1.Service(
        ctx.urn_name(spec.name, "service"),
        metadata=ctx.metadata(spec.name, spec.name),
        spec={
            "type": "ClusterIP",
            "selector": selector(spec.name),
            "ports": [
                {"name": port_name(p), "port": p, "targetPort": p, "protocol": "TCP"} for p in sorted(ports)
            ],
        },
        opts=ctx.opts(),
    )


def _ports(ports: set[int]) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in sorted(ports)]


def namespace_policies(ctx: KubeContext) -> list[pulumi.Resource]:
    deny = k8s.networking.v1.NetworkPolicy(
        ctx.urn_name("namespace", "default-deny"),
        metadata=ctx.metadata("default-deny"),
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        opts=ctx.opts(),
    )
    dns = k8s.networking.v1.NetworkPolicy(
        ctx.urn_name("namespace", "allow-dns"),
        metadata=ctx.metadata("allow-dns"),
        spec={
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [DNS_PEER],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        opts=ctx.opts(),
    )
    return [deny, dns]


def pod_policy(
    ctx: KubeContext, pod: str, edges: dict[tuple[str, str], set[int]], public_port: int | None = None
) -> k8s.networking.v1.NetworkPolicy | None:
    """The policy of the pods named `pod` (a service or a bootstrap Job): both ends of its edges."""
    ingress = [
        {"from": [{"podSelector": {"matchLabels": selector(client)}}], "ports": _ports(ports)}
        for (client, server), ports in sorted(edges.items())
        if server == pod
    ]
    if public_port:
        gateway = {"matchLabels": {"kubernetes.io/metadata.name": ctx.settings.kubernetes.gatewayNamespace}}
        ingress.append({"from": [{"namespaceSelector": gateway}], "ports": _ports({public_port})})
    egress = [
        {"to": [{"podSelector": {"matchLabels": selector(server)}}], "ports": _ports(ports)}
        for (client, server), ports in sorted(edges.items())
        if client == pod
    ]
    if not ingress and not egress:
        return None  # default deny already covers it
    types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules]
    body: dict = {"podSelector": {"matchLabels": selector(pod)}, "policyTypes": types}
    if ingress:
        body["ingress"] = ingress
    if egress:
        body["egress"] = egress
    return k8s.networking.v1.NetworkPolicy(
        ctx.urn_name(pod, "policy"), metadata=ctx.metadata(pod, pod), spec=body, opts=ctx.opts()
    )


def peer_policy(
    ctx: KubeContext, name: str, pod: str, ingress: list[dict] | None = None, egress: list[dict] | None = None
) -> k8s.networking.v1.NetworkPolicy:
    """One more policy for the pods named `pod`, for peers outside the catalog's edges (another
    namespace, the API server). Policies only add up, so this opens exactly its own rules."""
    body: dict = {"podSelector": {"matchLabels": selector(pod)}, "policyTypes": []}
    for kind, rules in (("Ingress", ingress), ("Egress", egress)):
        if rules:
            body["policyTypes"].append(kind)
            body[kind.lower()] = rules
    return k8s.networking.v1.NetworkPolicy(
        ctx.urn_name(pod, f"policy-{name}"), metadata=ctx.metadata(f"{pod}-{name}", pod), spec=body, opts=ctx.opts()
    )
