"""Per-route request count and latency, as a plain ASGI middleware.

Starlette's `@app.middleware("http")` (BaseHTTPMiddleware) runs every request through an
extra task and memory stream; this wrapper only times the call and reads the status from
the first `http.response.start` message.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "api_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestMetrics:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "500"  # what the client gets if the app raises before responding

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The router writes the matched route into this same scope dict.
            route = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
            REQUESTS.labels(scope["method"], route, status).inc()
