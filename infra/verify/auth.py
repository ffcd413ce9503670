"""Auth is enforced on every public service, and the output credentials work.

Each rule sends three requests: none and wrong credentials must get 401, the
stack's credentials must succeed. A public URL without a rule fails, so a new
service cannot become public without saying how it is protected."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable

import httpx

from .context import Context
from .report import CheckFailed

#: Public by design: the API's OpenAPI page (its endpoints still need the bearer token).
PUBLIC_LINKS = frozenset({"api_docs"})

Probe = Callable[[Context, str, "dict[str, str] | None"], httpx.Response]  # (ctx, service, creds) -> response


def _bearer(path: str) -> Probe:
    def probe(ctx, service, creds):
        headers = {"Authorization": f"Bearer {creds['token']}"} if creds else {}
        return ctx.http.get(ctx.url(service, path), headers=headers)

    return probe


def _basic(path: str) -> Probe:
    def probe(ctx, service, creds):
        auth = (creds["user"], creds["password"]) if creds else None
        return ctx.http.get(ctx.url(service, path), auth=auth)

    return probe


def _minio_console(ctx, service, creds):
    """MinIO console (minio/console swagger.yml, basePath /api/v1): `POST /login` with
    accessKey/secretKey answers 204 and sets the `token` cookie (api/utils.go);
    `GET /session` without it is 401 (api/configure_console.go)."""
    if not creds:
        return ctx.http.get(ctx.url(service, "api/v1/session"))
    login = ctx.http.post(ctx.url(service, "api/v1/login"), json={"accessKey": creds["user"], "secretKey": creds["password"]})
    if login.status_code != 204:
        return login
    token = login.cookies.get("token")
    return ctx.http.get(ctx.url(service, "api/v1/session"), headers={"Cookie": f"token={token}"})


@dataclass(frozen=True)
class Rule:
    probe: Probe
    what: str


RULES: dict[str, Rule] = {
    "api": Rule(_bearer("api/v1/datasets"), "bearer token"),  # needs PostgreSQL only
    "mlflow": Rule(_basic("api/2.0/mlflow/experiments/search?max_results=1"), "basic auth at the proxy"),
    "ui": Rule(_basic("_stcore/health"), "basic auth at the proxy"),
    # Grafana's HTTP API accepts basic auth with a user's login (docs: "Authentication options for the HTTP API").
    "grafana": Rule(_basic("api/user"), "Grafana login"),
    "rabbitmq": Rule(_basic("api/whoami"), "RabbitMQ management login"),
    "minio": Rule(_minio_console, "MinIO console login"),
}


def _wrong(creds: dict[str, str]) -> dict[str, str]:
    return {k: (v if k == "user" else "wrong-" + secrets.token_hex(8)) for k, v in creds.items()}


def auth_check(ctx: Context, service: str):
    def check() -> str:
        rule = RULES.get(service)
        if rule is None:
            raise CheckFailed(f"no auth rule for public URL '{service}': add one in infra/verify/auth.py")
        creds = ctx.creds(service)
        anonymous = rule.probe(ctx, service, None).status_code
        if anonymous != 401:
            raise CheckFailed(f"without credentials: HTTP {anonymous}, expected 401 (auth not enforced)")
        wrong = rule.probe(ctx, service, _wrong(creds)).status_code
        if wrong != 401:
            raise CheckFailed(f"with wrong credentials: HTTP {wrong}, expected 401 (auth not enforced)")
        right = rule.probe(ctx, service, creds).status_code
        if not 200 <= right < 300:
            raise CheckFailed(f"with the credentials from the outputs: HTTP {right}, expected 2xx ({rule.what})")
        return f"{rule.what}: none 401, wrong 401, outputs' credentials {right}"

    return f"auth {service}", check


def checks(ctx: Context):
    return [auth_check(ctx, name) for name in sorted(ctx.outputs.urls) if name not in PUBLIC_LINKS]
