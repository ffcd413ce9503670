"""One fault per check, broken on purpose: verify exits non-zero and names that check.

`--timeout 0` (the retry budget) makes each failing check give up after one attempt."""


from tests.app.services import free_port

from .conftest import failed


def _only(*groups: str) -> list[str]:
    return [a for g in groups for a in ("--only", g)]


def test_expired_certificate_fails_its_https_check(site, verify):
    code, report = verify(site(certs={"mlflow": "expired"}), *_only("https"))
    assert code == 1 and report["ok"] is False
    assert set(failed(report)) == {"https mlflow"}
    assert "expired" in failed(report)["https mlflow"]


def test_certificate_for_another_host_fails(site, verify):
    code, report = verify(site(certs={"api": "wrong-host"}), *_only("https"))
    assert code == 1
    assert set(failed(report)) == {"https api", "https api_docs"}
    assert "api.verify.test" in failed(report)["https api"] and "mismatch" in failed(report)["https api"].lower()


def test_staging_ca_certificate_fails_on_a_stack_without_acme_staging(site, verify):
    code, report = verify(site(cert="staging"), *_only("https"), acme_staging=False)
    assert code == 1
    assert all(name.startswith("https ") for name in failed(report)) and len(failed(report)) == 7
    assert "staging CA" in failed(report)["https grafana"]


def test_staging_ca_certificate_passes_on_a_stack_with_acme_staging(site, verify):
    code, report = verify(site(cert="staging"), *_only("https"), acme_staging=True)
    assert code == 0, failed(report)
    assert all("staging CA, as configured" in c["detail"] for c in report["checks"])


def test_basic_auth_not_enforced_fails_auth_check(site, verify):
    code, report = verify(site(no_auth=("mlflow",)), *_only("auth"))
    assert code == 1
    assert set(failed(report)) == {"auth mlflow"}
    assert "expected 401" in failed(report)["auth mlflow"]


def test_wrong_credentials_in_the_outputs_fail_auth_check(site, verify, vstack):
    creds = vstack.credentials()
    creds["rabbitmq"] = {"user": "admin", "password": "not-the-password"}
    code, report = verify(site(), *_only("auth"), credentials=creds)
    assert code == 1
    assert set(failed(report)) == {"auth rabbitmq"}
    assert "credentials from the outputs: HTTP 401" in failed(report)["auth rabbitmq"]


def test_wrong_api_token_fails_auth_check(site, verify, vstack):
    creds = vstack.credentials()
    creds["api"] = {"token": "not-the-token"}
    code, report = verify(site(), *_only("auth"), credentials=creds)
    assert code == 1 and set(failed(report)) == {"auth api"}


def test_ready_not_ok_fails_ready_check(site, verify, vstack):
    broken_api = vstack.start_api("api-without-mlflow", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    code, report = verify(site(backends={"api": broken_api.removeprefix("http://")}), *_only("ready"))
    assert code == 1
    assert set(failed(report)) == {"api ready"}
    assert "mlflow: error" in failed(report)["api ready"]


def test_failing_job_fails_the_e2e_check(site, verify, vstack):
    prefix = "verify-broken"  # its own queues: the session's worker must not take these jobs
    api = vstack.start_api("api-broken-queue", QUEUE_PREFIX=prefix)
    vstack.start_worker("broken-worker", QUEUE_PREFIX=prefix, S3_BUCKET="no-such-bucket")
    code, report = verify(site(backends={"api": api.removeprefix("http://")}), *_only("e2e"))
    assert code == 1
    assert "e2e job" in failed(report)
    assert "training job" in failed(report)["e2e job"] and "failed" in failed(report)["e2e job"]


def test_job_not_finishing_within_the_bound_fails_the_e2e_check(site, verify, vstack):
    api = vstack.start_api("api-no-worker", QUEUE_PREFIX="verify-no-worker")  # nobody consumes its queue
    code, report = verify(site(backends={"api": api.removeprefix("http://")}), *_only("e2e"), "--job-timeout", "2")
    assert code == 1
    assert "still queued after 2s" in failed(report)["e2e job"]


def observability_failure(verify, site, check: str, *groups: str) -> str:
    """Run verify on the observability checks (and `groups`); it must fail `check`: its reason."""
    code, report = verify(site(), *_only(*groups, "observability"))
    assert code == 1 and check in failed(report), report
    return failed(report)[check]


def test_unhealthy_data_source_fails_datasources_check(site, verify, grafana):
    grafana.unhealthy.add("loki")
    assert "Loki" in observability_failure(verify, site, "grafana datasources")


def test_scrape_target_down_fails_targets_check(site, verify, grafana):
    grafana.down_jobs.add("processor")
    reason = observability_failure(verify, site, "prometheus targets")
    assert "processor/" in reason and "down" in reason


def test_service_without_logs_fails_logs_check(site, verify, grafana):
    grafana.silent.add("ui")
    assert observability_failure(verify, site, "loki logs").endswith("from: ui")


def test_missing_trace_fails_trace_check(site, verify, grafana):
    grafana.keep_traces = False
    assert "not found in Tempo" in observability_failure(verify, site, "tempo trace", "e2e")
