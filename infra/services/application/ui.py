"""The Streamlit UI (built from app/ui), public behind basic auth; it reaches the API inside."""

from __future__ import annotations

from ...catalog.context import CatalogContext, Wiring
from ...catalog.model import BuiltImage, Hardening, PublicRoute, RateLimit, RollingUpdate, ServiceSpec, python_http_check
from .api import API_PORT

UI_PORT = 8501


def specs(ctx: CatalogContext, wiring: Wiring) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            name="ui",
            layer="application",
            image=BuiltImage("ui", "app/ui/Dockerfile"),
            networks=("backend", "edge"),
            port=UI_PORT,
            hostname="ui",
            # Basic auth; a page load fetches a few dozen assets, then one websocket.
            public=PublicRoute(port=UI_PORT, basic_auth=True, max_body="200m", rate_limit=RateLimit(per_second=10, burst=50)),
            env={"API_URL": f"http://api:{API_PORT}"},
            secret_env={"API_TOKEN": ctx.secrets.get("apiToken")},
            healthcheck=python_http_check(f"http://127.0.0.1:{UI_PORT}/_stcore/health"),
            depends_on=wiring.edge,
            memory_mb=512,
            hardening=Hardening(
                # /tmp for temporary files; HOME (useradd --create-home) for Streamlit's per-user files.
                tmpfs=(("/tmp", "size=64m"), ("/home/app", "size=16m,uid=10001,gid=10001")),
                image_user="10001",  # app/ui/Dockerfile: USER 10001
            ),
            # A browser's session lives in the server it is connected to: its websocket reconnects to the new one.
            rolling_update=RollingUpdate("it keeps nothing but browser sessions in memory; every request goes to the API"),
            stop_grace_seconds=30,
            description="Streamlit UI",
        ),
    ]
