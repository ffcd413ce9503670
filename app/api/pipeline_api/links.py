"""OpenAPI links: which response carries the id that other operations take, so a client (and
schemathesis's stateful phase) can chain them without guessing: an upload leads to the data
set's reads and its deletion, a job submission or listing to the job and its result file."""

from __future__ import annotations


def operation_ref(path: str, method: str) -> str:
    """A JSON pointer to an operation of this document (RFC 6901 escapes `~` and `/`)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def links(parameter: str, expression: str, targets: dict[str, tuple[str, str]]) -> dict:
    """A `responses=` entry: every named target (path, method) takes `parameter` from `expression`,
    an OpenAPI runtime expression such as `$response.body#/id`."""
    return {
        "links": {
            name: {"operationRef": operation_ref(path, method), "parameters": {parameter: expression}}
            for name, (path, method) in targets.items()
        }
    }
