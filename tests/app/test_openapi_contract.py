"""/openapi.json is the contract: every status and body our code returns is documented (issue #10 item 8)."""

import subprocess

from .services import BIN

ERROR_KEYS = {"detail", "field", "errors"}


def test_request_validation_errors_use_the_error_body(client):
    r = client.post("/api/v1/training-jobs", json={"dataset_id": "x", "target": "y", "epochs": 3})
    body = r.json()
    assert r.status_code == 422 and set(body) == ERROR_KEYS
    assert body["field"] == "epochs" and {"field": "epochs", "reason": body["errors"][0]["reason"]} in body["errors"]


def test_every_api_operation_documents_its_error_statuses_with_the_error_schema(client):
    spec = client.get("/openapi.json").json()
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == ERROR_KEYS
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in operations.items():
            for status in ("401", "422", "503"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, status)
    assert "413" in spec["paths"]["/api/v1/datasets"]["post"]["responses"]
    assert "404" in spec["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]


def test_a_bounded_schemathesis_run_finds_no_server_error_and_no_undocumented_response(stack, api_url, tmp_path):
    # schemathesis 4.32.5 CLI (`st run --help`): the three checks the issue names; few examples per operation.
    result = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{api_url}/openapi.json",
         "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
         "--phases", "examples,fuzzing", "--max-examples", "6", "--seed", "10",
         "--header", f"Authorization: Bearer {stack.api_token}",
         "--request-timeout", "30", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
