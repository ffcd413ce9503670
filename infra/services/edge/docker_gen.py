"""docker-gen: renders nginx-proxy's nginx.tmpl from the running containers into the proxy's conf.d,
reading Docker through the edge socket proxy."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import UPLOADS_NEED_WRITABLE_ROOT, Dependency, Hardening, Mount, ServiceSpec
from . import proxy
from .socket_proxy import EDGE_PROXY, docker_host

#: The label acme-companion finds docker-gen by (app/functions.sh get_docker_gen_container at v2.8.2).
DOCKER_GEN_LABEL = "com.github.nginx-proxy.docker-gen"


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    if not ctx.runs_proxy:
        return []
    s = ctx.settings
    files = tuple(proxy.proxy_files(ctx, dict(wiring.public)))
    return [
        ServiceSpec(
            name="docker-gen",
            layer="edge",
            image=ctx.image("docker-gen"),
            networks=("dockeredge",),
            mounts=(
                Mount("proxy-conf", "/etc/nginx/conf.d"),  # writes default.conf
                Mount("certs", "/etc/nginx/certs", read_only=True),
                Mount("proxy-html", "/usr/share/nginx/html", read_only=True),
            ),
            # The template checks that the per-host files exist before including them: same files as nginx,
            # plus the http-level file, which lands in the shared conf.d volume.
            files=files,
            # HSTS is the template's (rendered here), stated so the choice is visible.
            env={"TRUST_DOWNSTREAM_PROXY": "false", "DOCKER_HOST": docker_host(EDGE_PROXY), **({"HSTS": proxy.HSTS} if s.tls else {})},
            labels={DOCKER_GEN_LABEL: "true"},
            depends_on=(Dependency(EDGE_PROXY),),
            memory_mb=64,
            hardening=Hardening(
                read_only=False,
                exceptions={
                    "read_only": UPLOADS_NEED_WRITABLE_ROOT,
                    "user": "the image declares no USER; it writes nginx's conf.d on a root-owned volume",
                },
            ),
            description="docker-gen: renders nginx-proxy's nginx.tmpl from the running containers",
        ),
    ]
