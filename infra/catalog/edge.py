"""Edge: nginx (the only container with host ports), docker-gen and acme-companion.

The proxy learns routes from VIRTUAL_HOST/VIRTUAL_PORT on the public services
(set by the generic component from each spec's `public` route). Per-host files
(basic-auth htpasswd, body-size limits) are generated from the catalog.
"""

from __future__ import annotations

from .context import CatalogContext
from .docker_api import EDGE_PROXY, docker_host
from .model import UPLOADS_NEED_WRITABLE_ROOT, ConfigFile, Dependency, Hardening, Mount, ServiceSpec, VolumeSpec

PROXY_LABEL = "com.github.nginx-proxy.nginx"
#: The label docker-gen's `-notify-filter` sends SIGHUP to (nginx-proxy Dockerfile.dockergen at 1.11.6).
NGINX_CONTAINER_LABEL = "com.github.nginx-proxy.nginx-proxy.nginx"
#: The label acme-companion finds docker-gen by (app/functions.sh get_docker_gen_container at v2.8.2).
DOCKER_GEN_LABEL = "com.github.nginx-proxy.docker-gen"

VOLUMES = (
    VolumeSpec("certs"),
    VolumeSpec("acme"),
    VolumeSpec("proxy-html", stateful=False),
    VolumeSpec("proxy-conf", stateful=False),  # docker-gen's rendered nginx config
)


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
    """nginx-proxy as separate containers (nginx-proxy docs/README.md "Separate Containers" at 1.11.6):
    the internet-facing nginx holds no Docker socket; docker-gen renders its config from the running
    containers through the edge socket proxy, on an internal network only."""
    if not ctx.runs_proxy:
        return []
    s = ctx.settings
    files = tuple(proxy_files(ctx, public))
    services = [
        ServiceSpec(
            name="proxy",
            layer="edge",
            image=ctx.image("proxy"),
            networks=("edge",),
            host_ports=(80, 443),
            # What docker-gen renders, and the files the rendered config reads (the "Recommended shared
            # volumes" table of the Separate Containers section), all read-only here.
            mounts=(
                Mount("proxy-conf", "/etc/nginx/conf.d", read_only=True),
                Mount("certs", "/etc/nginx/certs", read_only=True),
                Mount("proxy-html", "/usr/share/nginx/html", read_only=True),
            ),
            files=files,
            # docker-gen signals the container with this label (NGINX_CONTAINER_LABEL, Dockerfile.dockergen);
            # acme-companion finds it by PROXY_LABEL (app/functions.sh get_nginx_proxy_container).
            labels={PROXY_LABEL: "true", NGINX_CONTAINER_LABEL: "true"},
            depends_on=(Dependency("docker-gen", healthy=False),),
            memory_mb=256,
            hardening=Hardening(
                read_only=False,
                cap_add=("CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"),
                exceptions={
                    "read_only": UPLOADS_NEED_WRITABLE_ROOT,
                    "user": "the nginx master binds 80/443 and starts its workers as the `nginx` user",
                    "cap_add": "NET_BIND_SERVICE for 80/443; SETUID/SETGID/CHOWN to start workers as `nginx` and own their temp dirs",
                },
            ),
            description="nginx: routes public hosts to containers (config rendered by docker-gen)",
        ),
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
            # The template checks that the per-host files exist before including them: same files as nginx.
            files=files,
            env={"TRUST_DOWNSTREAM_PROXY": "false", "DOCKER_HOST": docker_host(EDGE_PROXY)},
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
    if s.tls:
        env = {
            "DEFAULT_EMAIL": s.acmeEmail,
            "NGINX_PROXY_CONTAINER": s.docker_name("proxy"),
            "NGINX_DOCKER_GEN_CONTAINER": s.docker_name("docker-gen"),
            "DOCKER_HOST": docker_host(EDGE_PROXY),
        }
        if s.acmeStaging:
            env["ACME_CA_URI"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
        services.append(
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
        )
    return services


def edge_entry(ctx: CatalogContext) -> tuple[Dependency, ...]:
    """What a public service waits for: the last edge container to start (proxy first)."""
    if not ctx.runs_proxy:
        return ()
    return (Dependency("acme" if ctx.settings.tls else "proxy", healthy=False),)
