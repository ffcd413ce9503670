"""Stack settings: the one place where stack config is read and validated.

Everything downstream receives a frozen `PlatformSettings`; nothing else reads
`pulumi.Config`. Validation happens before any resource is declared, so a bad
stack file fails `pulumi preview` with one message naming the key and reason.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from .images import IMAGES
from .kube_settings import KubernetesSettings, Target

PROJECT = "mlops-platform"

#: Our own images: chosen by `imageOwner`/`imageTag` (or `buildImages`), never by `images.<key>`.
BUILT_IMAGES = ("mlflow", "api", "processor", "ui", "postgres")

#: Public services and their default hosts (the host table in README.md, "Deployment").
PUBLIC_SERVICES = ("rabbitmq", "minio", "mlflow", "grafana", "api", "ui")

_HOST_TABLE = {
    "production": {
        "rabbitmq": "rabbitmq.mlops.dns64.de",
        "minio": "s3.mlops.iot64.de",
        "mlflow": "mlflow.mlops.iot64.de",
        "grafana": "monitoring.mlops.iot64.de",
        "api": "api.mlops.dns64.de",
        "ui": "app.mlops.dns64.de",
    },
    "staging": {
        "rabbitmq": "rabbitmq.staging.mlops.iot64.de",
        "minio": "s3.staging.mlops.iot64.de",
        "mlflow": "mlflow.staging.mlops.iot64.de",
        "grafana": "monitoring.staging.mlops.iot64.de",
        "api": "api.staging.mlops.dns64.de",
        "ui": "app.staging.mlops.dns64.de",
    },
}

#: Secrets a stack may override with `pulumi config set --secret --path secrets.<name>`.
OVERRIDABLE_SECRETS = (
    "postgresPassword",
    "postgresMonitorPassword",
    "mlflowDbPassword",
    "apiDbPassword",
    "rabbitmqAdminPassword",
    "rabbitmqAppPassword",
    "s3RootPassword",
    "s3AppSecretKey",
    "s3MlflowSecretKey",
    "grafanaAdminPassword",
    "apiToken",
    "s3BackupSecretKey",
    "backupPassphrase",
)

#: Public services behind HTTP basic auth at the proxy, each with a generated password
#: (`<service>BasicAuth` for rotation); a test keeps this equal to the catalog's.
BASIC_AUTH_SERVICES = ("mlflow", "ui")

#: Generated secrets whose rotation would not converge, and why (`python -m infra.rotate` refuses them).
NOT_ROTATABLE = {
    "backupPassphrase": "it encrypts the backups already taken (pgBackRest's repository cipher and rclone's "
    "crypt remote cannot change their key), so a new one would make them unreadable",
    "grafanaAdminPassword": "Grafana applies GF_SECURITY_ADMIN_PASSWORD only when it creates its database; change "
    "it in Grafana, then store it with `pulumi config set --secret --path 'secrets.grafanaAdminPassword' <value>`",
}

#: What `rotation.<name>` may name: every generated secret whose new value reaches all its users on `pulumi up`.
ROTATABLE_SECRETS = tuple(n for n in OVERRIDABLE_SECRETS if n not in NOT_ROTATABLE) + tuple(
    f"{svc}BasicAuth" for svc in BASIC_AUTH_SERVICES
)

#: Secrets only the operator can supply (never generated): set them with the same command.
#: The backup target's key pair, issued by its provider: required with `backup.target`.
BACKUP_TARGET_SECRETS = ("backupTargetAccessKey", "backupTargetSecretKey")
EXTERNAL_SECRETS = ("smtpPassword", *BACKUP_TARGET_SECRETS)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_PINNED_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")
_OWNER = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38})$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_WEBHOOK = re.compile(r"^https?://[^\s/?#]+(:\d+)?(/\S*)?$")


class ConfigError(Exception):
    """Raised for invalid stack configuration; the message names every bad key."""


def parse_bool(value: Any) -> bool:
    """Only true/false: `pulumi config set` stores strings, and pydantic's lax bool would also
    take off/f/n/no/0, which a cross-check reading the raw string could then read differently."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"'{value}' is not a boolean; use true or false")


StrictBool = Annotated[bool, BeforeValidator(parse_bool)]


def third_party_images() -> dict[str, str]:
    """The catalog's pinned images, which an `images.<service>` override must name."""
    return IMAGES


def default_hosts(stack: str) -> dict[str, str]:
    if stack in _HOST_TABLE:
        return dict(_HOST_TABLE[stack])
    if stack == "dev":
        names = {"minio": "s3", "grafana": "monitoring", "ui": "app"}
        return {svc: f"{names.get(svc, svc)}.localhost" for svc in PUBLIC_SERVICES}
    # Other stacks (feature environments) follow the staging naming scheme.
    return {svc: host.replace(".staging.", f".{stack}.") for svc, host in _HOST_TABLE["staging"].items()}


def check_pinned(ref: str) -> str:
    """An image reference is pinned when it names a tag other than `latest`, or a digest."""
    if not _PINNED_IMAGE.match(ref):
        raise ValueError(f"'{ref}' is not a valid image reference")
    has_digest = "@sha256:" in ref
    name = ref.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
    if not has_digest and tag is None:
        raise ValueError(f"'{ref}' has no tag; pin a version")
    if tag == "latest":
        raise ValueError(f"'{ref}' uses the floating tag 'latest'; pin a version")
    return ref


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metricsDays: int = Field(30, ge=1, le=3650)
    logsDays: int = Field(14, ge=1, le=3650)
    tracesDays: int = Field(7, ge=1, le=3650)


_SIZE = re.compile(r"^[1-9][0-9]*[kmg]?$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def size_bytes(size: str) -> int:
    """nginx's size syntax (`client_max_body_size`: k, m and g are binary) in bytes."""
    unit = size[-1] if size[-1] in "kmg" else ""
    return int(size.removesuffix(unit)) * _SIZE_UNITS[unit]


class DataSettings(BaseModel):
    """How much data the platform accepts, and what a worker does with more than fits its memory."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: The largest upload, in nginx's syntax: the API's public `client_max_body_size` and the API's
    #: own MAX_UPLOAD_BYTES both come from it, so the proxy and the API cannot disagree.
    maxUpload: str = "2g"
    #: A training set larger than the worker's memory allows: `sample` trains on a stratified
    #: sample that fits (its size is stated in the run's params and the job's result), `refuse`
    #: fails the job at once naming the size and the limit.
    oversizeTraining: Literal["sample", "refuse"] = "sample"

    @field_validator("maxUpload")
    @classmethod
    def _size(cls, v: str) -> str:
        if not _SIZE.match(v):
            raise ValueError(f"'{v}' is not a size: a whole number of bytes, optionally followed by k, m or g (e.g. 2g)")
        return v


class EmailReceiver(BaseModel):
    """Alert e-mail over SMTP; the password is `secrets.smtpPassword` (Pulumi secret), never here."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    smarthost: str  # host:port of the submission server
    username: str | None = None  # SMTP AUTH user; requires secrets.smtpPassword
    requireTls: StrictBool = True

    @field_validator("to")
    @classmethod
    def _to(cls, v: list[str]) -> list[str]:
        for i, address in enumerate(v):
            if not _EMAIL.match(address):
                raise ValueError(f"to[{i}]: '{address}' is not an e-mail address")
        return v

    @field_validator("from_")
    @classmethod
    def _from(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError(f"'{v}' is not an e-mail address")
        return v

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if not _HOSTNAME.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"'{v}' is not host:port (for example smtp.example.org:587)")
        return v


class Alerting(BaseModel):
    """Where Alertmanager sends notifications; no receiver means alerts reach nobody."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    email: EmailReceiver | None = None
    webhooks: list[str] = Field(default_factory=list)

    @field_validator("webhooks")
    @classmethod
    def _webhooks(cls, v: list[str]) -> list[str]:
        for i, url in enumerate(v):
            if not _WEBHOOK.match(url):
                raise ValueError(f"webhooks[{i}]: '{url}' is not an http(s) URL")
        return v

    @property
    def has_receiver(self) -> bool:
        return self.email is not None or bool(self.webhooks)


class BackupTarget(BaseModel):
    """An S3-compatible bucket outside this host. Its key pair is issued by its provider and set
    as `secrets.backupTargetAccessKey` / `secrets.backupTargetSecretKey`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    endpoint: str = Field(pattern=r"^[a-z0-9.-]+(:[0-9]{1,5})?$")  # host[:port]; spoken to over HTTPS
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str = "us-east-1"
    uriStyle: Literal["path", "host"] = "path"
    #: PEM of the private CA that issued the target's certificate. Without it the backup containers trust the
    #: public CAs of their images' CA bundles (app/postgres/Dockerfile installs Debian's ca-certificates).
    caCertificate: str | None = None

    @field_validator("caCertificate")
    @classmethod
    def _ca_certificate(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from cryptography import x509

        try:
            certificates = x509.load_pem_x509_certificates(v.encode())
        except ValueError as exc:
            raise ValueError(f"not a PEM certificate ({exc})") from None
        for cert in certificates:
            try:
                is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                is_ca = False
            if not is_ca:
                raise ValueError(f"'{cert.subject.rfc4514_string()}' is not a CA certificate (basicConstraints CA:TRUE)")
        return v


class BackupRetention(BaseModel):
    """PostgreSQL: weekly full backups (`full` kept) with daily differentials (`diff` kept);
    objects and configuration: dated snapshots kept per day, week and month."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    full: int = Field(4, ge=1, le=100)
    diff: int = Field(7, ge=1, le=100)
    daily: int = Field(7, ge=0, le=366)
    weekly: int = Field(4, ge=0, le=520)
    monthly: int = Field(6, ge=0, le=240)


class Backup(BaseModel):
    """Where and how often backups go. Without `target`, a local volume holds them (dev only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    target: BackupTarget | None = None
    retention: BackupRetention = Field(default_factory=BackupRetention)
    intervalHours: int = Field(24, ge=1, le=24)


class Upgrades(BaseModel):
    """`upgrades.allow.<service>: <version>`: the user carried that service's data to this version by hand (the
    guard's remedy), so a change the guard calls unsafe goes ahead, for that target version only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    allow: dict[Literal["postgres", "rabbitmq", "minio"], str] = Field(default_factory=dict)

    @field_validator("allow", mode="before")
    @classmethod
    def _versions_as_text(cls, v: Any) -> Any:
        # `pulumi config set --path upgrades.allow.postgres 18` may store the number 18.
        if isinstance(v, Mapping):
            return {k: str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for k, x in v.items()}
        return v


class PlatformSettings(BaseModel):
    """Validated settings of one stack. Field names are the stack config keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stack: str
    tls: StrictBool = True
    acmeEmail: str | None = None
    acmeStaging: StrictBool = False
    hosts: dict[str, str] = Field(default_factory=dict)
    imageOwner: str = "iot64"
    imageTag: str = "0.1.0"
    buildImages: StrictBool = False
    #: Every third-party image must name its digest (`name:tag@sha256:...`, the tag kept for readers).
    requireImageDigests: StrictBool = False
    processorReplicas: int = Field(2, ge=1, le=32)
    externalProxyNetwork: str | None = None
    protectData: StrictBool = False
    images: dict[str, str] = Field(default_factory=dict)
    retention: Retention = Field(default_factory=Retention)
    data: DataSettings = Field(default_factory=DataSettings)
    backup: Backup = Field(default_factory=Backup)
    #: `docker:host` (the provider's own key), not a key of this project: the bootstrap's
    #: `docker exec` gets it as DOCKER_HOST so both reach the same engine.
    docker_host: str | None = None
    alerting: Alerting = Field(default_factory=Alerting)
    #: `rotation.<secret>: <n>`: bumping n replaces that generated secret (`python -m infra.rotate`).
    rotation: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    target: Target = "docker"
    upgrades: Upgrades = Field(default_factory=Upgrades)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)

    @field_validator("acmeEmail")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.match(v):
            raise ValueError(f"'{v}' is not an e-mail address")
        return v

    @field_validator("imageOwner")
    @classmethod
    def _owner(cls, v: str) -> str:
        if not _OWNER.match(v):
            raise ValueError(f"'{v}' is not a valid GHCR owner (lower-case letters, digits, hyphens)")
        return v

    @field_validator("imageTag")
    @classmethod
    def _tag(cls, v: str) -> str:
        if not _TAG.match(v):
            raise ValueError(f"'{v}' is not a valid image tag")
        if v == "latest":
            raise ValueError("'latest' is a floating tag; pin a version or commit SHA")
        return v

    @field_validator("images")
    @classmethod
    def _images(cls, v: dict[str, str]) -> dict[str, str]:
        if _image_problems(v):
            raise ValueError("invalid image overrides")  # parse_settings reports each key
        return v

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v: dict[str, int]) -> dict[str, int]:
        for name in v:
            if name in NOT_ROTATABLE:
                raise ValueError(f"'{name}' cannot be rotated: {NOT_ROTATABLE[name]}")
            if name not in ROTATABLE_SECRETS:
                raise ValueError(f"unknown secret '{name}' (rotatable: {', '.join(ROTATABLE_SECRETS)})")
        return v

    @property
    def public_hosts(self) -> dict[str, str]:
        return {**default_hosts(self.stack), **self.hosts}

    @property
    def prefix(self) -> str:
        return f"{PROJECT}-{self.stack}"

    def docker_name(self, name: str) -> str:
        """The Docker name of a stack's container, volume or network: unique on a shared host."""
        return f"{self.prefix}-{name}"

    def backup_warnings(self) -> list[str]:
        """Said at every preview: a server stack whose backups never leave its host."""
        if self.backup.target is None and self.stack != "dev":
            return [
                f"{PROJECT}:backup.target is not set: stack '{self.stack}' keeps its backups in a volume on the "
                "same host, so losing the host loses them too (docs/backups.md)"
            ]
        return []

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


def _image_problems(images: Mapping[str, Any]) -> list[str]:
    """One line per bad `images.<key>`: unknown service, one of our built images, or unpinned."""
    known = third_party_images()
    problems = []
    for key, ref in images.items():
        name = f"{PROJECT}:images.{key}"
        if key in BUILT_IMAGES:
            problems.append(
                f"{name}: '{key}' is built by this project; choose its image with imageOwner/imageTag "
                f"(ghcr.io/<imageOwner>/mlops-{key}:<imageTag>) or buildImages"
            )
        elif key not in known:
            problems.append(f"{name}: unknown image service '{key}' (known: {', '.join(sorted(known))})")
        elif not isinstance(ref, str):
            problems.append(f"{name}: must be an image reference string")
        else:
            try:
                check_pinned(ref)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    return problems


def _cross_checks(stack: str, data: Mapping[str, Any]) -> list[str]:
    """Checks that span keys; run even when single fields failed, so all problems show at once."""
    problems = []
    hosts = data.get("hosts") or {}
    if not isinstance(hosts, Mapping):
        return [f"{PROJECT}:hosts: must be a map of service to hostname"]
    for service, host in hosts.items():
        if service not in PUBLIC_SERVICES:
            problems.append(
                f"{PROJECT}:hosts.{service}: unknown service '{service}' (public services: {', '.join(PUBLIC_SERVICES)})"
            )
        elif not isinstance(host, str) or not _HOSTNAME.match(host):
            problems.append(f"{PROJECT}:hosts.{service}: '{host}' is not a valid DNS hostname")
    seen: dict[str, str] = {}
    for service, host in {**default_hosts(stack), **hosts}.items():
        if host in seen:
            culprit = service if service in hosts else seen[host]
            other = seen[host] if culprit == service else service
            problems.append(f"{PROJECT}:hosts.{culprit}: '{host}' is already used by '{other}'")
        seen[host] = service
    images = data.get("images") or {}
    if isinstance(images, Mapping):
        problems.extend(_image_problems(images))
        try:
            require_digests = parse_bool(data.get("requireImageDigests", False))
        except ValueError:
            require_digests = False  # reported by the model
        if require_digests:
            # The provider pulls `name:tag@sha256:<d>` by the digest (parseImageOptions: "prefer pinned digest
            # over tag name", internal/provider/resource_docker_image_funcs.go, kreuzwerker@5074970c).
            effective = {**third_party_images(), **{k: v for k, v in images.items() if isinstance(v, str)}}
            missing = sorted(k for k, ref in effective.items() if "@sha256:" not in ref)
            if missing:
                problems.append(
                    f"{PROJECT}:requireImageDigests: these images name no digest: {', '.join(missing)} "
                    f"(pin each in infra/images.py or with images.<service>: <name>:<tag>@sha256:<digest>)"
                )
    try:
        tls = parse_bool(data.get("tls", True))
    except ValueError:
        tls = False  # reported by the model: no cross-check on a value nobody can read
    if tls and not data.get("acmeEmail"):
        problems.append(f"{PROJECT}:acmeEmail: required when tls is true (Let's Encrypt needs a contact address)")
    return problems


def _flatten_error(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        key = f"{PROJECT}:{loc}" if loc else PROJECT
        if err["type"] == "extra_forbidden":
            msg = "unknown config key"
        if loc == "images" and msg == "invalid image overrides":
            continue  # _cross_checks names each bad key
        lines.append(f"{key}: {msg}")
    return lines


#: Model fields that are not stack config keys of this project.
_NOT_CONFIG_KEYS = ("stack", "docker_host")


def parse_settings(
    stack: str, raw: Mapping[str, Any], docker_host: str | None = None, offline: bool = False
) -> PlatformSettings:
    """Validate raw stack config (keys without the project prefix) or raise ConfigError.

    `docker_host` is the provider's `docker:host`: the one Docker host setting. `offline` readers
    (diagram, tests, the restore command) see the stack file without its encrypted secrets, so
    they skip the check that secrets from outside the platform are set."""
    data = {k: v for k, v in raw.items() if k != "secrets" and k not in _NOT_CONFIG_KEYS}
    data["stack"] = stack
    data["docker_host"] = docker_host or None
    secrets = raw.get("secrets") or {}
    problems: list[str] = [f"{PROJECT}:{k}: unknown config key" for k in _NOT_CONFIG_KEYS if k in raw]
    if "dockerHost" in data:
        data.pop("dockerHost")
        problems.append(
            f"{PROJECT}:dockerHost: unknown config key; set the Docker host with "
            f"`pulumi config set docker:host ssh://user@host` (used by the provider and the bootstrap)"
        )
    if not isinstance(secrets, Mapping):
        problems.append(f"{PROJECT}:secrets: must be a map of secret name to value")
        secrets = {}
    for name in secrets:
        if name not in OVERRIDABLE_SECRETS + EXTERNAL_SECRETS:
            problems.append(
                f"{PROJECT}:secrets.{name}: unknown secret (known: {', '.join(OVERRIDABLE_SECRETS + EXTERNAL_SECRETS)})"
            )
    rotation = data.get("rotation")
    for name in rotation if isinstance(rotation, Mapping) else ():
        if name in secrets:
            problems.append(
                f"{PROJECT}:rotation.{name}: secrets.{name} overrides the generated secret; rotate it by setting a new "
                f"value (pulumi config set --secret --path 'secrets.{name}' <value>)"
            )
    backup = data.get("backup")
    if isinstance(backup, Mapping) and backup.get("target") and not offline:
        for name in BACKUP_TARGET_SECRETS:
            if name not in secrets:
                problems.append(
                    f"{PROJECT}:secrets.{name}: required with backup.target, issued by the target's provider "
                    f"(pulumi config set --secret --path 'secrets.{name}' <value>)"
                )
    settings = None
    try:
        settings = PlatformSettings.model_validate(data)
    except ValidationError as exc:
        problems.extend(_flatten_error(exc))
    problems.extend(_cross_checks(stack, data))
    if settings and settings.alerting.email and settings.alerting.email.username and "smtpPassword" not in secrets and not offline:
        problems.append(
            f"{PROJECT}:secrets.smtpPassword: required by alerting.email.username; set it with "
            f"pulumi config set --secret --path 'secrets.smtpPassword' <password>"
        )
    if problems:
        raise ConfigError(f"invalid configuration for stack '{stack}':\n  " + "\n  ".join(problems))
    assert settings is not None
    return settings
