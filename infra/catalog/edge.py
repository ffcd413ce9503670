"""Edge: nginx-proxy and acme-companion, the only containers with host ports.

The proxy learns routes from VIRTUAL_HOST/VIRTUAL_PORT on the public services
(set by the generic component from each spec's `public` route). Per-host files
(basic-auth htpasswd, body-size limits) are generated from the catalog.
"""

from __future__ import annotations

from .context import CatalogContext
from .model import ConfigFile, Dependency, HostMount, Mount, ServiceSpec, VolumeSpec

DOCKER_SOCKET = "/var/run/docker.sock"
PROXY_LABEL = "com.github.nginx-proxy.nginx"

VOLUMES = (VolumeSpec("certs"), VolumeSpec("acme"), VolumeSpec("proxy-html", stateful=False))


def proxy_files(ctx: CatalogContext, public: dict[str, ServiceSpec]) -> list[ConfigFile]:
    """The per-host files an nginx-proxy needs for this stack: ours gets them as uploads; a shared
    proxy (`externalProxyNetwork`) must serve them itself (the secret `proxyFiles` output)."""
    files = []
    for name, spec in sorted(public.items()):
        host = ctx.host(name)
        vhost = f"client_max_body_size {spec.public.max_body};\n"
        if spec.metrics and spec.metrics.port == spec.public.port:
            # Prometheus scrapes it on the internal network; the internet gets no metrics.
            vhost += f"location = {spec.metrics.path} {{ return 404; }}\n"
        files.append(ConfigFile(f"/etc/nginx/vhost.d/{host}", vhost))
        if spec.public.basic_auth:
            _, line = ctx.secrets.basic_auth(name)
            files.append(ConfigFile(f"/etc/nginx/htpasswd/{host}", line, secret=True))
    return files


def edge_services(ctx: CatalogContext, public: dict[str, ServiceSpec]) -> list[ServiceSpec]:
    if not ctx.runs_proxy:
        return []
    s = ctx.settings
    files = proxy_files(ctx, public)
    services = [
        ServiceSpec(
            name="proxy",
            layer="edge",
            image=ctx.image("proxy"),
            networks=("edge",),
            host_ports=(80, 443),
            mounts=(
                HostMount(DOCKER_SOCKET, "/tmp/docker.sock"),
                Mount("certs", "/etc/nginx/certs", read_only=True),
                Mount("proxy-html", "/usr/share/nginx/html"),
            ),
            files=tuple(files),
            env={"TRUST_DOWNSTREAM_PROXY": "false"},
            labels={PROXY_LABEL: "true"},
            memory_mb=256,
            description="nginx-proxy: routes public hosts to containers",
        )
    ]
    if s.tls:
        env = {
            "DEFAULT_EMAIL": s.acmeEmail,
            "NGINX_PROXY_CONTAINER": s.docker_name("proxy"),
        }
        if s.acmeStaging:
            env["ACME_CA_URI"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
        services.append(
            ServiceSpec(
                name="acme",
                layer="edge",
                image=ctx.image("acme"),
                networks=("edge",),
                mounts=(
                    HostMount(DOCKER_SOCKET, DOCKER_SOCKET),
                    Mount("certs", "/etc/nginx/certs"),
                    Mount("proxy-html", "/usr/share/nginx/html"),
                    Mount("acme", "/etc/acme.sh"),
                ),
                env=env,
                depends_on=(Dependency("proxy", healthy=False),),
                memory_mb=128,
                description="acme-companion: Let's Encrypt certificates",
            )
        )
    return services


def edge_entry(ctx: CatalogContext) -> tuple[Dependency, ...]:
    """What a public service waits for: the last edge container to start (proxy first)."""
    if not ctx.runs_proxy:
        return ()
    return (Dependency("acme" if ctx.settings.tls else "proxy", healthy=False),)
