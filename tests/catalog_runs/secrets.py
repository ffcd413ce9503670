"""Real random values for the catalog's secrets: the services must start with credentials that
look like the deployment's (pulumi-random, 32 alphanumerics), not placeholders."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string

from infra.secrets import BASIC_AUTH_USER

ALPHABET = string.ascii_letters + string.digits


class RandomSecrets:
    """Same interface as `infra.secrets.StaticSecrets` / `PlatformSecrets`, with random values."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def _random(self, key: str, length: int) -> str:
        if key not in self._values:
            self._values[key] = "".join(secrets.choice(ALPHABET) for _ in range(length))
        return self._values[key]

    def get(self, name: str) -> str:
        return self._random(name, 32)

    def basic_auth(self, service: str) -> tuple[str, str]:
        """(password, htpasswd line); `{SHA}` is an htpasswd scheme nginx reads (only the proxy does)."""
        password = self._random(f"{service}-basic-auth", 24)
        digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
        return password, f"{BASIC_AUTH_USER}:{{SHA}}{digest}\n"
