"""Retries within one budget, and the report's shapes."""

import json

from infra.verify.report import Budget, CheckFailed, Result, as_json, mask, table


def flaky(failures: int):
    calls = []

    def check() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise CheckFailed(f"not yet ({len(calls)})")
        return "fine"

    return check


def test_a_check_that_settles_passes_after_retries_within_the_budget():
    result = Budget(5, first_delay=0.01).run("settling", flaky(2))
    assert (result.result, result.detail, result.attempts) == ("ok", "fine", 3)


def test_without_budget_a_failing_check_gets_one_attempt():
    result = Budget(0, first_delay=0.01).run("broken", flaky(5))
    assert (result.result, result.detail, result.attempts) == ("FAIL", "not yet (1)", 1)


def test_connection_errors_are_failures_not_crashes():
    def refused() -> str:
        raise ConnectionRefusedError("connection refused")

    result = Budget(0).run("down", refused)
    assert result.failed and "ConnectionRefusedError" in result.detail


def test_table_and_json_name_each_check_and_the_verdict():
    results = [Result("https api", "ok", "HTTP 200"), Result("auth ui", "FAIL", "without credentials: HTTP 200")]
    text = table(results)
    assert "auth ui" in text and "FAIL" in text and text.splitlines()[-1] == "FAILED: 1 of 2 checks"
    doc = json.loads(as_json("staging", results))
    assert doc["ok"] is False and [c["check"] for c in doc["checks"]] == ["https api", "auth ui"]


def test_secrets_are_masked():
    assert mask("token abcd1234 rejected", ["abcd1234"]) == "token *** rejected"
