"""acme-companion (TLS stacks): Let's Encrypt certificates for the public hosts, written where nginx
reads them; it signals nginx and docker-gen through the edge socket proxy."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import Dependency, Hardening, Mount, ServiceSpec
from .socket_proxy import EDGE_PROXY, docker_host


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    s = ctx.settings
    if not (ctx.runs_proxy and s.tls):
        return []
    env = {
        "DEFAULT_EMAIL": s.acmeEmail,
        "NGINX_PROXY_CONTAINER": s.docker_name("proxy"),
        "NGINX_DOCKER_GEN_CONTAINER": s.docker_name("docker-gen"),
        "DOCKER_HOST": docker_host(EDGE_PROXY),
    }
    if s.acmeStaging:
        env["ACME_CA_URI"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
    return [
        ServiceSpec(
            name="acme",
            layer="edge",
            image=ctx.image("acme"),
            # edge: outbound to the ACME CA; dockeredge: the filtered Docker API.
            networks=("edge", "dockeredge"),
            mounts=(
                Mount("certs", "/etc/nginx/certs"),
                Mount("proxy-html", "/usr/share/nginx/html"),
                Mount("acme", "/etc/acme.sh"),
            ),
            env=env,
            depends_on=(Dependency("proxy", healthy=False), Dependency(EDGE_PROXY)),
            memory_mb=128,
            hardening=Hardening(
                read_only=False,
                cap_add=("CHOWN", "FOWNER", "DAC_OVERRIDE"),
                exceptions={
                    "read_only": "its docker-gen writes /app/letsencrypt_service_data inside the image (app/start.sh)",
                    "user": "the image declares no USER; it owns and sets the mode of certificate files",
                    "cap_add": "set_ownership_and_permissions (app/functions.sh) chowns and chmods files in certs",
                },
            ),
            description="acme-companion: Let's Encrypt certificates",
        )
    ]
