"""`Allow` names every method a path has: in each 405, and in the answer to OPTIONS.

Starlette's router hands a request whose method no route at its path takes to the first route
whose path matched, and that route's 405 names only its own methods (`Route.handle`,
starlette 1.10.0 routing.py; `APIRoute.handle`, fastapi 0.163.2 routing.py): GET and POST on
/api/v1/datasets are two routes, so a 405 there said `Allow: POST`. The handler below asks every
route, with the router's own matching, which methods it takes at the request's path.

No route declares OPTIONS, so an OPTIONS request reaches the same 405 and is answered here,
204 with `Allow`. It runs before any route's dependencies, so it needs no token: it tells nothing
/openapi.json (public) does not. `install` adds that operation to every path of the OpenAPI
document by overriding `app.openapi`, as FastAPI's guide does (fastapi/fastapi,
docs/en/docs/how-to/extending-openapi.md).
"""

from __future__ import annotations

import re
from http import HTTPMethod

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from .errors import body


def methods_at(app: FastAPI, scope: dict) -> list[str]:
    """The methods some route takes at the scope's path (OPTIONS always: it is answered here)."""
    found = {HTTPMethod.OPTIONS}
    for method in HTTPMethod:
        probe = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", ""), "method": str(method)}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            found.add(method)
    return sorted(str(m) for m in found)


async def method_not_allowed(request: Request, exc: HTTPException) -> Response:
    allow = {"Allow": ", ".join(methods_at(request.app, request.scope))}
    if request.method == HTTPMethod.OPTIONS:
        return Response(status_code=204, headers=allow)
    return JSONResponse(status_code=405, content=body(str(exc.detail)), headers=allow)


def options_operation(path: str, item: dict) -> dict:
    """The OpenAPI operation for OPTIONS on `path`, with the path parameters its other operations declare."""
    operations = list(item.values())
    parameters = next((op["parameters"] for op in operations if op.get("parameters")), [])
    return {
        "tags": operations[0].get("tags", []),
        "summary": "The methods this path has",
        "description": "Answered without a token, before any other check: `Allow` lists the methods, as in every 405.",
        "operationId": re.sub(r"\W", "_", f"allowed_methods{path}") + "_options",
        "parameters": [p for p in parameters if p["in"] == "path"],
        "responses": {
            "204": {
                "description": "No body; the `Allow` header lists the methods",
                "headers": {"Allow": {"description": "The methods, comma-separated", "required": True, "schema": {"type": "string"}}},
            }
        },
    }


def install(app: FastAPI) -> None:
    app.add_exception_handler(405, method_not_allowed)  # Starlette looks up status handlers before class handlers
    generate = app.openapi

    def openapi() -> dict:
        if not app.openapi_schema:
            for path, item in generate()["paths"].items():
                item["options"] = options_operation(path, item)
        return app.openapi_schema

    app.openapi = openapi
