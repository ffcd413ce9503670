"""Alertmanager: where the alert rules' notifications go, from the stack's `alerting` settings.

Keys follow prometheus/alertmanager config/config.go and config/notifiers.go at v0.34.0 (the
pinned image); every one of them also exists in 0.25 (Debian's amtool, used by the tests).
"""

from __future__ import annotations

from ..settings import PROJECT, PlatformSettings
from .observability import PORTS, _dump

PORT = PORTS["alertmanager"]
SMTP_PASSWORD_FILE = "/run/secrets/alertmanager_smtp_password"
RECEIVER = "operators"
NOBODY = "nobody"  # a receiver without integrations: Alertmanager drops what reaches it

#: Alerts of one rule and service become one notification: wait 30s for siblings, report changes
#: to a group every 5m, and remind of unresolved ones every 4h (critical ones every hour).
ROUTE = {
    "group_by": ["alertname", "service"],
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
}
CRITICAL_REPEAT = "1h"


def receiver_warning(settings: PlatformSettings) -> str | None:
    """The loud preview-time message for a stack whose alerts would reach nobody."""
    if settings.alerting.has_receiver:
        return None
    return (
        f"stack '{settings.stack}' has no alert receiver: alerts show in Prometheus, Alertmanager and "
        f"Grafana but notify nobody. Set {PROJECT}:alerting.email and/or {PROJECT}:alerting.webhooks "
        f"(docs/observability.md)."
    )


def alertmanager_config(settings: PlatformSettings) -> str:
    alerting = settings.alerting
    receiver: dict = {"name": RECEIVER if alerting.has_receiver else NOBODY}
    config: dict = {"global": {"resolve_timeout": "5m"}}
    if alerting.email:
        email = alerting.email
        config["global"].update(
            {
                "smtp_smarthost": email.smarthost,
                "smtp_from": email.from_,
                "smtp_require_tls": email.requireTls,
            }
        )
        if email.username:
            config["global"]["smtp_auth_username"] = email.username
            config["global"]["smtp_auth_password_file"] = SMTP_PASSWORD_FILE
        receiver["email_configs"] = [{"to": ", ".join(email.to), "send_resolved": True}]
    if alerting.webhooks:
        receiver["webhook_configs"] = [{"url": url, "send_resolved": True} for url in alerting.webhooks]
    config["route"] = {
        "receiver": receiver["name"],
        **ROUTE,
        "routes": [
            {"receiver": receiver["name"], "matchers": ['severity="critical"'], "repeat_interval": CRITICAL_REPEAT}
        ],
    }
    # A critical alert silences the warnings of the same rule and service while it fires.
    config["inhibit_rules"] = [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", "service"],
        }
    ]
    config["receivers"] = [receiver]
    return _dump(config)
