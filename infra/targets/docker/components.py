"""Generic Pulumi components that render catalog entries into Docker resources.

`PlatformNetworks` and `PlatformVolumes` hold the shared plumbing; `Service`
turns one `ServiceSpec` into its image, containers (one per replica) and
post-start bootstrap. Nothing here knows about a particular service.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import Any, Sequence

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from ...catalog.image_facts import facts_key
from ...catalog.model import BuiltImage, Healthcheck, HostMount, Mount, ServiceSpec, VolumeSpec, volume_group_script
from ...image_refs import REPO_ROOT, image_ref
from ...settings import PlatformSettings
from ...values import is_output

COMPONENT = "mlops:platform"
HEALTH_WAIT_SECONDS = 300


def healthcheck_hash(hc: Healthcheck) -> str:
    """Docker's update call cannot change a healthcheck, and the provider updates it in place
    (kreuzwerker/terraform-provider-docker#988; `healthcheck` has no ForceNew in
    internal/provider/resource_docker_container.go at 5074970c, the upstream of the newest
    pulumi-docker source seen, 2026-08-14; the fix, PR #989, merged 2026-08-22, and whether 5.2.0
    bundles it could not be confirmed). `labels` is ForceNew there, so a label carrying this hash
    replaces the container whenever the healthcheck changes, with or without the fix."""
    text = "\0".join([*hc.test, hc.interval, hc.timeout, str(hc.retries), hc.start_period])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class PlatformNetworks(pulumi.ComponentResource):
    """`edge` is shared with the proxy only; `backend` is internal (no route out, no host ports)."""

    def __init__(self, settings: PlatformSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__(f"{COMPONENT}:Networks", f"{settings.prefix}-networks", None, opts)
        # Names are fixed and Docker refuses a second network of the same name, so a replaced
        # network (new labels, `internal`) must be deleted before its successor is created.
        child = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        labels = [docker.NetworkLabelArgs(label="mlops.stack", value=settings.stack)]
        backend = settings.docker_name("backend")
        self.backend = docker.Network(backend, name=backend, internal=True, labels=labels, opts=child)
        if settings.externalProxyNetwork:
            self.edge_name: Any = settings.externalProxyNetwork
        else:
            edge_name = settings.docker_name("edge")
            edge = docker.Network(edge_name, name=edge_name, labels=labels, opts=child)
            self.edge_name = edge.name
        # Outbound only, for Alertmanager's notifications: not internal, and the proxy never joins it.
        egress = settings.docker_name("egress")
        self.egress = docker.Network(egress, name=egress, labels=labels, opts=child)
        self.names = {"backend": self.backend.name, "edge": self.edge_name, "egress": self.egress.name}
        # Internal networks of the Docker socket proxies: only a proxy and its clients join one
        # (infra/services/edge/socket_proxy.py); the edge one exists only where this stack runs its own proxy.
        for net in ("dockerapi",) + (() if settings.externalProxyNetwork else ("dockeredge",)):
            name = settings.docker_name(net)
            self.names[net] = docker.Network(name, name=name, internal=True, labels=labels, opts=child).name
        self.register_outputs(dict(self.names))


class PlatformVolumes(pulumi.ComponentResource):
    """Named volumes live apart from containers: replacing a container never touches its data.

    On stacks with `protectData` the stateful ones are protected and retained on delete,
    so neither `up`, a replacement nor `destroy` can remove them.
    """

    def __init__(
        self, settings: PlatformSettings, specs: dict[str, VolumeSpec], opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(f"{COMPONENT}:Volumes", f"{settings.prefix}-volumes", None, opts)
        self.volumes: dict[str, docker.Volume] = {}
        for key, spec in specs.items():
            keep = settings.protectData and spec.stateful
            self.volumes[key] = docker.Volume(
                settings.docker_name(key),
                name=settings.docker_name(key),
                labels=[
                    docker.VolumeLabelArgs(label="mlops.stack", value=settings.stack),
                    docker.VolumeLabelArgs(label="mlops.volume", value=key),
                    docker.VolumeLabelArgs(label="mlops.stateful", value=str(spec.stateful).lower()),
                ],
                opts=pulumi.ResourceOptions(parent=self, protect=keep, retain_on_delete=keep),
            )
        self.register_outputs({k: v.name for k, v in self.volumes.items()})


def _env_list(env: dict[str, Any]) -> Any:
    """Docker wants ["K=V", ...]; values may be (secret) Outputs."""
    items = sorted(env.items())
    if not any(is_output(v) for _, v in items):
        return [f"{k}={v}" for k, v in items]
    return pulumi.Output.all(*[v for _, v in items]).apply(
        lambda vals: [f"{k}={v}" for (k, _), v in zip(items, vals)]
    )


def routing_env(settings: PlatformSettings, spec: ServiceSpec) -> dict[str, str]:
    """What nginx-proxy and acme-companion read from a public container."""
    if not spec.public:
        return {}
    host = settings.public_hosts[spec.name]
    env = {"VIRTUAL_HOST": host, "VIRTUAL_PORT": str(spec.public.port), "VIRTUAL_PROTO": "http"}
    if settings.tls:
        env["LETSENCRYPT_HOST"] = host
    return env


def docker_cli_environment(settings: PlatformSettings) -> dict[str, str]:
    """The environment a `docker` CLI command needs to reach the engine the provider talks to
    (`docker:host`); on ssh:// hosts the CLI runs `ssh`, which reads the deploy user's ~/.ssh/config
    (docs/deploying.md). Without `docker:host` both use the local default."""
    return {"DOCKER_HOST": settings.docker_host} if settings.docker_host else {}


def pids_limit_script(container_name: str, limit: int) -> str:
    """Set a container's PID limit (its cgroup's `pids.max`) and check that Docker kept it.

    pulumi-docker 5.2.0 cannot set it at create time: `docker.Container` has no `pids_limit`
    (terraform-provider-docker v4.5.0's docker_container schema has none either). `docker update
    --pids-limit` changes it on the running container and in its HostConfig, so restarts keep it
    (docker/cli#1765, API 1.40). Where the kernel lacks the pids controller the daemon only warns
    ("PIDs limit discarded", moby daemon/daemon_unix.go verifyPlatformContainerResources) and the CLI
    exits 0, so the script reads the limit back and fails unless it is the one asked for."""
    name = shlex.quote(container_name)
    return (
        f"docker update --pids-limit {limit} {name} >/dev/null"
        f" && actual=$(docker inspect --format '{{{{json .HostConfig.PidsLimit}}}}' {name})"
        f' && if [ "$actual" != {limit} ]; then'
        f' echo "{container_name}: PID limit is $actual after docker update, not {limit}'
        ' (does the Docker host have the pids cgroup controller?)" >&2; exit 1; fi'
    )


class Service(pulumi.ComponentResource):
    """One catalog entry: image, replicas, and bootstrap. `ready` is what dependents wait for."""

    def __init__(
        self,
        spec: ServiceSpec,
        settings: PlatformSettings,
        networks: PlatformNetworks,
        volumes: PlatformVolumes,
        depends_on: Sequence[pulumi.Resource] = (),
        backup: "Service | None" = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        name = settings.docker_name(spec.name)
        super().__init__(f"{COMPONENT}:Service", name, None, opts)
        self.spec = spec
        self.image_ref = image_ref(settings, spec.image)
        image = self._image(name, settings)
        env = _env_list({**spec.env, **spec.secret_env, **routing_env(settings, spec)})
        if spec.fs_group is not None:
            depends_on = [*depends_on, self._fs_group(name, settings, volumes, image)]
        self.migration: command.local.Command | None = None
        if spec.migration:
            self.migration = self._migration(name, settings, networks, image, depends_on, backup)
            depends_on = [*depends_on, self.migration]
        self.containers: list[docker.Container] = []
        self.pids_limits: list[command.local.Command] = []
        for i in range(1, spec.replicas + 1):
            cname = name if spec.replicas == 1 else f"{name}-{i}"
            container = self._container(cname, i, spec, settings, networks, volumes, image, env, depends_on)
            self.containers.append(container)
            self.pids_limits.append(self._pids_limit(cname, container, settings))
        self.ready: list[pulumi.Resource] = list(self.containers)
        if spec.bootstrap:
            self.ready.append(self._bootstrap(name, settings))
        self.register_outputs({"containers": [c.name for c in self.containers], "image": self.image_ref})

    def _image(self, name: str, settings: PlatformSettings) -> Any:
        child = pulumi.ResourceOptions(parent=self)
        if isinstance(self.spec.image, BuiltImage) and settings.buildImages:
            built = docker.Image(
                f"{name}-image",
                image_name=self.image_ref,
                build=docker.DockerBuildArgs(
                    context=str(REPO_ROOT / "app"), dockerfile=str(REPO_ROOT / self.spec.image.dockerfile)
                ),
                skip_push=True,
                opts=child,
            )
            # For a local-only build `repo_digest` is the image ID: it changes with every
            # rebuild, so the containers are replaced, while `image_name` would not change.
            return built.repo_digest
        remote = docker.RemoteImage(f"{name}-image", name=self.image_ref, keep_locally=True, opts=child)
        return remote.image_id

    def _container(
        self,
        cname: str,
        index: int,
        spec: ServiceSpec,
        settings: PlatformSettings,
        networks: PlatformNetworks,
        volumes: PlatformVolumes,
        image: Any,
        env: Any,
        depends_on: Sequence[pulumi.Resource],
    ) -> docker.Container:
        attachments = []
        for net in spec.networks:
            if net in ("backend", "dockerapi", "dockeredge"):  # this stack's own internal networks
                aliases = [spec.name] if spec.replicas == 1 else [spec.name, f"{spec.name}-{index}"]
            else:  # shared with the proxy (maybe other stacks'): stack-unique names only
                aliases = [cname]
            attachments.append(docker.ContainerNetworksAdvancedArgs(name=networks.names[net], aliases=aliases))
        mounts = []
        binds = []  # host mounts with a propagation mode need the Mount API
        for m in spec.mounts:
            if isinstance(m, Mount):
                mounts.append(
                    docker.ContainerVolumeArgs(
                        volume_name=volumes.volumes[m.volume].name, container_path=m.path, read_only=m.read_only
                    )
                )
            elif isinstance(m, HostMount) and m.propagation:
                binds.append(
                    docker.ContainerMountArgs(
                        type="bind",
                        source=m.host_path,
                        target=m.path,
                        read_only=m.read_only,
                        bind_options=docker.ContainerMountBindOptionsArgs(propagation=m.propagation),
                    )
                )
            elif isinstance(m, HostMount):
                mounts.append(
                    docker.ContainerVolumeArgs(host_path=m.host_path, container_path=m.path, read_only=m.read_only)
                )
        hc = spec.healthcheck
        h = spec.hardening
        # `mlops.image`: the image's facts (infra/catalog/image_facts.yaml), which the policy pack reads.
        labels = {"mlops.stack": settings.stack, "mlops.service": spec.name, "mlops.image": facts_key(spec.image), **spec.labels}
        # Stated exceptions travel with the container, where the policy pack (and `docker inspect`) see them.
        labels.update({f"mlops.exception.{key}": reason for key, reason in h.exceptions.items()})
        if h.image_user and spec.user is None:
            labels["mlops.image-user"] = h.image_user
        if hc:
            labels["mlops.healthcheck"] = healthcheck_hash(hc)
        return docker.Container(
            cname,
            # A rolling update needs a new name for each replacement: left out, the provider names the container
            # `<resource name>-<7 random hex>` (pulumi-docker provider/resources.go `prov.SetAutonaming(255, "-")`),
            # and the engine checks a replacement's inputs again without the old ones, so it gets a new name
            # (pulumi/pulumi pkg/resource/deploy/step_generator.go: "we need to recompute the default values").
            name=None if spec.rolling_update else cname,
            image=image,
            hostname=spec.hostname if spec.replicas == 1 else None,
            command=list(spec.command) if spec.command else None,
            entrypoints=list(spec.entrypoint) if spec.entrypoint else None,
            user=spec.user,
            envs=env,
            networks_advanced=attachments,
            ports=[docker.ContainerPortArgs(internal=p, external=p) for p in spec.host_ports],
            volumes=mounts,
            mounts=binds or None,
            pid_mode=spec.pid_namespace,
            devices=[
                docker.ContainerDeviceArgs(host_path=d.host_path, container_path=d.path, permissions=d.permissions)
                for d in spec.devices
            ]
            or None,
            # Least privilege (ServiceSpec.hardening): no privilege gain through setuid binaries, every
            # capability dropped and only the stated ones added back, read-only root unless stated.
            privileged=False,
            security_opts=["no-new-privileges:true"],
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=sorted(h.cap_add) or None),
            read_only=h.read_only,
            tmpfs=dict(h.tmpfs) or None,
            uploads=[
                docker.ContainerUploadArgs(
                    file=f.path, content=pulumi.Output.secret(f.content) if f.secret else f.content
                )
                for f in spec.files
            ],
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels.items())],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(hc.test),
                interval=hc.interval,
                timeout=hc.timeout,
                retries=hc.retries,
                start_period=hc.start_period,
            )
            if hc
            else None,
            wait=hc is not None,
            wait_timeout=HEALTH_WAIT_SECONDS if hc else None,
            restart="unless-stopped",
            memory=spec.memory_mb,
            # Without it Docker allows swap of twice the limit and the provider reads that back as
            # a change on every `up`; equal to `memory` means no swap.
            memory_swap=spec.memory_mb,
            log_driver="json-file",
            log_opts={"max-size": "10m", "max-file": "3"},
            must_run=True,
            # Without it the provider's delete stops the container with a zero timeout, a SIGKILL at once
            # (terraform-provider-docker v4.5.0 internal/provider/resource_docker_container_funcs.go
            # resourceDockerContainerDelete: ContainerStop's Timeout is destroy_grace_seconds, else 0).
            destroy_grace_seconds=spec.stop_grace_seconds,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(depends_on),
                # pulumi-docker marks every container delete-before-replace (provider/resources.go docker_container
                # `DeleteBeforeReplace: true`); only an explicit false overrides it (step_generator.go: "The user
                # can override the provider's decision"). A fixed name must be free before its successor starts.
                # Rolling: create the new one, wait for its health (`wait` above), then delete the old one, which
                # the engine does after every create and update of the deployment.
                delete_before_replace=spec.rolling_update is None,
            ),
        )

    def _fs_group(self, name: str, settings: PlatformSettings, volumes: PlatformVolumes, image: Any) -> command.local.Command:
        """Kubernetes' fsGroup on Docker (ServiceSpec.fs_group), before the containers exist: a one-off container
        of the service's own image mounts its writable volumes at their paths (so Docker fills each as it
        will for the service) and, as root with only CHOWN and FOWNER, gives their roots to the group."""
        writable = [m for m in self.spec.mounts if isinstance(m, Mount) and not m.read_only]
        script = volume_group_script(self.spec.fs_group, [m.path for m in writable])
        names = [volumes.volumes[m.volume].name for m in writable]

        def docker_run(args: list) -> str:
            image_id, volume_names = args[0], args[1:]
            flags = " ".join(f"-v {shlex.quote(f'{v}:{m.path}')}" for v, m in zip(volume_names, writable))
            return (
                "docker run --rm --user 0 --network none --read-only --memory 32m --cap-drop ALL"
                " --cap-add CHOWN --cap-add FOWNER --security-opt no-new-privileges:true"
                f" --entrypoint sh {flags} {image_id} -c {shlex.quote(script)}"
            )

        return command.local.Command(
            f"{name}-fs-group",
            create=pulumi.Output.all(image, *names).apply(docker_run),
            environment=docker_cli_environment(settings),
            triggers=[image, *names, self.spec.fs_group],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _migration(
        self,
        name: str,
        settings: PlatformSettings,
        networks: PlatformNetworks,
        image: Any,
        depends_on: Sequence[pulumi.Resource],
        backup: "Service | None",
    ) -> command.local.Command:
        """The spec's `Migration`, before the containers (they depend on it): a one-off container of the new image,
        hardened as the service is, on the backend network, after a fresh backup in the backup service's container.
        Both run again only when the image changes (`triggers`); a failure fails `up` before any container of the
        service is replaced, so the running one keeps serving."""
        m = self.spec.migration
        after = list(depends_on)
        if m.backup and backup is not None:
            after.append(
                command.local.Command(
                    f"{name}-backup-before-migration",
                    create=backup.containers[0].name.apply(lambda n: shlex.join(["docker", "exec", n, *m.backup.command])),
                    environment=docker_cli_environment(settings),
                    triggers=[image],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[*backup.ready, *depends_on]),
                )
            )
        values = {**self.spec.env, **self.spec.secret_env}
        h = self.spec.hardening
        user = self.spec.user or h.image_user

        def docker_run(args: list) -> str:
            network, image_id = args
            flags = [
                "--rm", "--name", f"{name}-migration", "--network", network,
                "--memory", f"{self.spec.memory_mb}m", "--memory-swap", f"{self.spec.memory_mb}m",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
                *(["--read-only"] if h.read_only else []),
                *(arg for path, opts in h.tmpfs for arg in ("--tmpfs", f"{path}:{opts}")),
                *(["--user", user] if user else []),
                *(arg for key in m.env for arg in ("-e", key)),  # values from the command's environment
            ]  # fmt: skip
            return shlex.join(["docker", "run", *flags, image_id, *m.command])

        return command.local.Command(
            f"{name}-migration",
            create=pulumi.Output.all(networks.names["backend"], image).apply(docker_run),
            environment={**{k: values[k] for k in m.env}, **docker_cli_environment(settings)},
            triggers=[image, *m.command],
            logging=command.local.Logging.STDERR,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )

    def _pids_limit(self, cname: str, container: docker.Container, settings: PlatformSettings) -> command.local.Command:
        """Apply the catalog's PID limit to one container (see `pids_limit_script`), again whenever the
        container is replaced (its id changes) or the limit does (a new script). The script names the
        container by its Docker name, a plain string for a fixed name, so a preview's policy pack sees it whole
        (`pids-limited`); it holds no secret, and the environment only DOCKER_HOST."""
        limit = self.spec.hardening.pids_limit
        return command.local.Command(
            f"{cname}-pids-limit",
            # A rolling service's container is named by the provider: its name is known once the provider has checked
            # the inputs, in a preview too.
            create=container.name.apply(lambda n: pids_limit_script(n, limit))
            if self.spec.rolling_update
            else pids_limit_script(cname, limit),
            environment=docker_cli_environment(settings),
            triggers=[container.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )

    def _bootstrap(self, name: str, settings: PlatformSettings) -> command.local.Command:
        """Run the spec's idempotent script in the (healthy) container; re-run when it or its inputs change."""
        boot = self.spec.bootstrap
        container = self.containers[0]
        env_flags = " ".join(f"-e {k}" for k in sorted(boot.env))
        environment = {**boot.env, **docker_cli_environment(settings)}
        return command.local.Command(
            f"{name}-bootstrap",
            create=container.name.apply(lambda n: f"docker exec -i {env_flags} {n} sh -s"),
            stdin=boot.script,
            environment=environment,
            # The secrets it applies too (they stay secret in the state): a rotated password re-runs it.
            triggers=[container.id, hashlib.sha256(boot.script.encode()).hexdigest(), *(boot.env[k] for k in sorted(boot.env))],
            logging=command.local.Logging.STDERR,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )
