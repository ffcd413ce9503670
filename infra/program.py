"""The Pulumi program: read and validate config, build the catalog, hand it to the stack's target
(`infra/targets/<target>/deploy.py`). Only `__main__.py` imports it."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from .assembly import build_catalog
from .catalog.context import CatalogContext
from .configs import alerting
from .secrets import PlatformSecrets
from .settings import PROJECT, ConfigError, PlatformSettings, parse_settings
from .upgrade_guards import guard_data_versions


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def read_stack_config() -> tuple[dict[str, Any], str | None]:
    """All of this project's config keys (so unknown keys can be rejected) and `docker:host`."""
    all_config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: _decode(v) for k, v in all_config.items() if k.startswith(prefix)}
    if raw.get("secrets") and not runtime_config.is_config_secret(f"{PROJECT}:secrets"):
        raise ConfigError(
            f"{PROJECT}:secrets: values must be stored encrypted "
            f"(pulumi config set --secret --path 'secrets.<name>' <value>)"
        )
    return raw, all_config.get("docker:host")


def load_settings() -> tuple[PlatformSettings, dict[str, str]]:
    raw, docker_host = read_stack_config()
    try:
        settings = parse_settings(pulumi.get_stack(), raw, docker_host)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    return settings, dict(raw.get("secrets") or {})


def deploy() -> dict[str, Any]:
    settings, overrides = load_settings()
    for warning in [alerting.receiver_warning(settings), *settings.backup_warnings()]:
        if warning:
            pulumi.log.warn(warning)
    secrets = PlatformSecrets(settings.prefix, overrides, settings.rotation)
    export_tls(settings)  # both targets: `verify` reads it
    catalog = build_catalog(CatalogContext(settings, secrets))
    guard_data_versions(catalog, settings)  # fails the preview on an unsafe data version change
    if settings.target == "kubernetes":
        from .targets.kubernetes.deploy import deploy as deploy_target
    else:
        from .targets.docker.deploy import deploy as deploy_target
    return deploy_target(catalog, settings, secrets)


def export_tls(settings: PlatformSettings) -> None:
    """Whether the stack serves HTTPS and expects Let's Encrypt's staging CA: `python -m
    infra.verify` reads it to judge certificates."""
    pulumi.export("tls", {"enabled": settings.tls, "acmeStaging": settings.tls and settings.acmeStaging})
