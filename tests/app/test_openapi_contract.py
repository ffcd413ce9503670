"""/openapi.json is the contract: every status and body our code returns is documented (issue #10 item 8),
and OPTIONS and 405 name every method a path has (issue #27 item 4)."""

import re
import subprocess

import httpx

from .services import BIN

ERROR_KEYS = {"detail", "field", "errors"}
#: Methods an OpenAPI path item may hold (OpenAPI 3.1 "Path Item Object").
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def spec_of(client) -> dict:
    return client.get("/openapi.json").json()


def concrete(path: str) -> str:
    """A URL for a path template: every parameter filled with an id that does not exist."""
    return re.sub(r"\{[^}]+\}", "0123456789abcdef", path)


def allow_of(r: httpx.Response) -> set[str]:
    return {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}


def methods_of(path_item: dict) -> set[str]:
    return {m.upper() for m in path_item if m in HTTP_METHODS}


def test_request_validation_errors_use_the_error_body(client):
    r = client.post("/api/v1/training-jobs", json={"dataset_id": "x", "target": "y", "epochs": 3})
    body = r.json()
    assert r.status_code == 422 and set(body) == ERROR_KEYS
    assert body["field"] == "epochs" and {"field": "epochs", "reason": body["errors"][0]["reason"]} in body["errors"]


def test_every_api_operation_documents_its_error_statuses_with_the_error_schema(client):
    spec = spec_of(client)
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == ERROR_KEYS
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in operations.items():
            if method == "options":  # answered before authentication and validation (test below)
                continue
            for status in ("401", "422", "503"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, status)
    assert "413" in spec["paths"]["/api/v1/datasets"]["post"]["responses"]
    assert "404" in spec["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]


def test_options_answers_204_with_every_method_of_the_path_and_needs_no_token(client, api_url):
    paths = spec_of(client)["paths"]
    assert methods_of(paths["/api/v1/datasets"]) >= {"GET", "POST"}
    assert methods_of(paths["/api/v1/datasets/{dataset_id}"]) >= {"GET", "DELETE"}
    for path, item in paths.items():
        r = httpx.options(api_url + concrete(path))
        assert r.status_code == 204 and r.content == b"", (path, r.status_code, r.text)
        assert allow_of(r) == methods_of(item) | {"OPTIONS"}, path


def test_options_is_documented_on_every_path_without_security_with_its_allow_header(client):
    for path, item in spec_of(client)["paths"].items():
        op = item["options"]
        assert "security" not in op, path
        assert set(op["responses"]) == {"204"}, path
        assert op["responses"]["204"]["headers"]["Allow"]["schema"] == {"type": "string"}
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{([^}]+)\}", path)), path


def test_a_method_the_path_lacks_gets_405_with_every_method_the_path_has(client):
    for path, item in spec_of(client)["paths"].items():
        missing = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in methods_of(item))
        r = client.request(missing, concrete(path))
        assert r.status_code == 405, (missing, path, r.status_code)
        assert allow_of(r) == methods_of(item) | {"OPTIONS"}, path
        assert r.json() == {"detail": "Method Not Allowed", "field": None, "errors": []}


def test_a_bounded_schemathesis_run_finds_no_server_error_and_no_undocumented_response(stack, api_url, tmp_path):
    # schemathesis 4.32.5 CLI (`st run --help`): the three checks the issue names; few examples per operation.
    result = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{api_url}/openapi.json",
         "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
         "--phases", "examples,fuzzing", "--max-examples", "6", "--seed", "10",
         "--header", f"Authorization: Bearer {stack.api_token}",
         "--request-timeout", "30", "--report-dir", str(tmp_path), "--generation-database", "none"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
