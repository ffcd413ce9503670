"""Generated credentials: one pulumi-random password per secret, kept encrypted in state.

A stack may override any of them with
`pulumi config set --secret --path 'secrets.<name>' <value>`; nothing has a default.
"""

from __future__ import annotations

from typing import Any, Mapping

import pulumi
import pulumi_random as random

from .settings import EXTERNAL_SECRETS, OVERRIDABLE_SECRETS

#: Users of HTTP basic auth at the proxy, one per protected service.
BASIC_AUTH_USER = "mlops"


def keepers(rotation: Mapping[str, int], name: str) -> dict[str, str] | None:
    """pulumi-random replaces a password when its `keepers` change ("Arbitrary map of values that,
    when changed, will trigger recreation of resource": pulumi-random 4.21.4, RandomPassword).
    None until the secret is first rotated, so adding this did not replace existing passwords."""
    return {"rotation": str(rotation[name])} if name in rotation else None


class PlatformSecrets:
    def __init__(self, prefix: str, overrides: Mapping[str, str], rotation: Mapping[str, int] | None = None):
        self._values: dict[str, Any] = {}
        self._htpasswd: dict[str, Any] = {}
        self._prefix = prefix
        self._rotation = dict(rotation or {})
        for name in OVERRIDABLE_SECRETS:
            if name in overrides:
                self._values[name] = pulumi.Output.secret(overrides[name])
            else:
                # Explicitly secret: the engine marks `result` secret too, but we do not rely on it.
                self._values[name] = pulumi.Output.secret(
                    random.RandomPassword(
                        f"{prefix}-{name}", length=32, special=False, keepers=keepers(self._rotation, name)
                    ).result
                )
        for name in EXTERNAL_SECRETS:  # supplied by the operator only; settings check they are set
            if name in overrides:
                self._values[name] = pulumi.Output.secret(overrides[name])

    def get(self, name: str) -> Any:
        return self._values[name]

    def basic_auth(self, service: str) -> tuple[Any, Any]:
        """(password, htpasswd line) for HTTP basic auth in front of `service`."""
        if service not in self._htpasswd:
            pw = random.RandomPassword(
                f"{self._prefix}-{service}-basic-auth",
                length=24,
                special=False,
                keepers=keepers(self._rotation, f"{service}BasicAuth"),
            )
            line = pw.bcrypt_hash.apply(lambda h: f"{BASIC_AUTH_USER}:{h}\n")
            self._htpasswd[service] = (pulumi.Output.secret(pw.result), pulumi.Output.secret(line))
        return self._htpasswd[service]


class StaticSecrets:
    """Stand-in used when the catalog is read outside a deployment (diagram, policy tests)."""

    def get(self, name: str) -> str:
        return f"<secret:{name}>"

    def basic_auth(self, service: str) -> tuple[str, str]:
        return f"<secret:{service}-basic-auth>", f"{BASIC_AUTH_USER}:<bcrypt>\n"
