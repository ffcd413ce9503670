"""Alerting as the program deploys it: Prometheus -> the stack's Alertmanager -> the receivers of
its stack file. The rendered Alertmanager config is checked with amtool (Debian's
prometheus-alertmanager; .ci/run installs it)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pulumi
import pytest
import yaml

from infra.assembly import offline_catalog
from infra.configs.alerting import SMTP_PASSWORD_FILE
from infra.settings import ConfigError, parse_settings

from .harness import BACKUP_TARGET_KEYS, PROJECT, plain_strings, run_stack, stack_file_config
from .test_observability import aliases, grafana_datasources, prometheus_config, upload
from .test_stacks import env_of, networks_of

AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool missing: apt-get install prometheus-alertmanager (.ci/run does)")

SMTP_PASSWORD = "smtp-pw-Xy7"
#: A stack file with both kinds of receiver, e-mail with SMTP AUTH.
RECEIVERS = {
    "email": {
        "to": ["ops@iot64.de", "oncall@iot64.de"],
        "from": "alerts@iot64.de",
        "smarthost": "smtp.iot64.de:587",
        "username": "alerts@iot64.de",
    },
    "webhooks": ["https://hooks.iot64.de/alertmanager"],
}


def project_config(stack: str) -> dict:
    """A stack file's keys of this project, as parse_settings takes them."""
    prefix = f"{PROJECT}:"
    return {k[len(prefix) :]: v for k, v in stack_file_config(stack).items() if k.startswith(prefix)}


def with_receivers(stack: str) -> dict:
    # The stack file's backup target needs its key pair too, as an operator sets it.
    return {**stack_file_config(stack), "alerting": RECEIVERS, "secrets": {"smtpPassword": SMTP_PASSWORD, **BACKUP_TARGET_KEYS}}


@pytest.fixture(scope="module")
def configured():
    """Staging with e-mail and a webhook, the SMTP password set as a Pulumi secret."""
    return run_stack("staging", with_receivers("staging"), secret_keys=("secrets",))


def alertmanager_config(run) -> dict:
    return yaml.safe_load(upload(run, "alertmanager", "/etc/alertmanager/alertmanager.yml"))


def test_prometheus_sends_its_alerts_to_the_stacks_alertmanager(run):
    (am,) = prometheus_config(run)["alerting"]["alertmanagers"]
    (target,) = am["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert aliases(run, "backend")[host] == "alertmanager"
    assert f"--web.listen-address=:{port}" not in run.container("alertmanager").inputs["command"]  # default :9093
    assert port == "9093"


def test_alerts_carry_the_stack_label(run):
    assert prometheus_config(run)["global"]["external_labels"] == {"stack": run.stack}


def test_alertmanager_stays_private_but_can_reach_receivers(run):
    container = run.container("alertmanager")
    assert "VIRTUAL_HOST" not in env_of(container)
    assert not container.inputs.get("ports")
    assert networks_of(container) == {"backend", "egress"}
    nets = {r.inputs["name"]: r for r in run.of_type(":Network")}
    assert not nets[f"{PROJECT}-{run.stack}-egress"].inputs.get("internal")
    proxy = run.containers.get(f"{PROJECT}-{run.stack}-proxy")
    assert proxy is None or "egress" not in networks_of(proxy)


def test_alertmanager_keeps_silences_and_notification_log_on_a_volume(run):
    container = run.container("alertmanager")
    assert "--storage.path=/alertmanager" in container.inputs["command"]
    (volume,) = [v for v in container.inputs["volumes"] if v.get("containerPath") == "/alertmanager"]
    assert volume["volumeName"] == f"{PROJECT}-{run.stack}-alertmanager"


def test_alertmanager_healthcheck_uses_a_program_of_its_busybox_image(run):
    test = run.container("alertmanager").inputs["healthcheck"]["tests"]
    assert test[:2] == ["CMD", "wget"] and test[-1] == "http://127.0.0.1:9093/-/healthy"


def test_grafana_shows_alertmanagers_alerts(run):
    (source,) = [ds for ds in grafana_datasources(run) if ds["type"] == "alertmanager"]
    assert source["jsonData"]["implementation"] == "prometheus"
    assert aliases(run, "backend")[source["url"].split("/")[2].split(":")[0]] == "alertmanager"


def test_route_groups_by_rule_and_service_and_repeats_critical_alerts_sooner(run):
    route = alertmanager_config(run)["route"]
    assert route["group_by"] == ["alertname", "service"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")
    (critical,) = route["routes"]
    assert critical["matchers"] == ['severity="critical"'] and critical["repeat_interval"] == "1h"


def test_a_critical_alert_inhibits_warnings_of_the_same_rule_and_service(run):
    (rule,) = alertmanager_config(run)["inhibit_rules"]
    assert rule == {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["alertname", "service"],
    }


def test_every_alert_rule_has_a_severity_the_route_knows(run):
    rules = yaml.safe_load(upload(run, "prometheus", "/etc/prometheus/rules/platform.yml"))
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]


def test_stack_with_receivers_notifies_them_by_email_and_webhook(configured):
    config = alertmanager_config(configured)
    (receiver,) = config["receivers"]
    assert config["route"]["receiver"] == receiver["name"]
    assert receiver["email_configs"] == [{"to": "ops@iot64.de, oncall@iot64.de", "send_resolved": True}]
    assert receiver["webhook_configs"] == [{"url": "https://hooks.iot64.de/alertmanager", "send_resolved": True}]
    assert config["global"]["smtp_smarthost"] == "smtp.iot64.de:587"
    assert config["global"]["smtp_from"] == "alerts@iot64.de"
    assert config["global"]["smtp_auth_username"] == "alerts@iot64.de"
    assert config["global"]["smtp_auth_password_file"] == SMTP_PASSWORD_FILE


def test_smtp_password_reaches_alertmanager_only_as_a_secret_file(configured):
    container = configured.container("alertmanager")
    (upload_raw,) = [u for u in container.raw["uploads"] if u["file"] == SMTP_PASSWORD_FILE]
    assert "4dabf18193072939515e22adb298388d" in json.dumps(upload_raw["content"])  # wrapped as a secret
    assert upload(configured, "alertmanager", SMTP_PASSWORD_FILE) == SMTP_PASSWORD
    for resource in configured.resources:
        assert SMTP_PASSWORD not in "".join(plain_strings(resource.raw)), resource.name
    assert SMTP_PASSWORD not in "".join(plain_strings(configured.outputs_raw))


def test_smtp_auth_without_the_password_secret_fails_naming_the_key():
    config = {**project_config("staging"), "alerting": RECEIVERS}
    with pytest.raises(ConfigError, match=r"mlops-platform:secrets\.smtpPassword: required by alerting\.email\.username"):
        parse_settings("staging", config)


@pytest.mark.parametrize(
    ("alerting", "key"),
    [
        ({"webhooks": ["ftp://hooks.iot64.de"]}, "alerting.webhooks"),
        ({"webhooks": "https://hooks.iot64.de"}, "alerting.webhooks"),
        ({"email": {**RECEIVERS["email"], "to": ["ops"]}}, "alerting.email.to"),
        ({"email": {**RECEIVERS["email"], "to": []}}, "alerting.email.to"),
        ({"email": {**RECEIVERS["email"], "from": "alerts"}}, "alerting.email.from"),
        ({"email": {**RECEIVERS["email"], "smarthost": "smtp.iot64.de"}}, "alerting.email.smarthost"),
        ({"email": {**RECEIVERS["email"], "password": "plain"}}, "alerting.email.password"),
        ({"pagerduty": {}}, "alerting.pagerduty"),
    ],
    ids=["webhook-scheme", "webhook-not-a-list", "to-address", "to-empty", "from", "smarthost-port", "plain-password", "unknown-key"],
)
def test_bad_receiver_settings_fail_naming_the_key(alerting, key):
    config = {"acmeEmail": "ops@iot64.de", "alerting": alerting, "secrets": {"smtpPassword": "x"}}
    with pytest.raises(ConfigError, match=rf"mlops-platform:{key}: "):
        parse_settings("staging", config)


def preview_warnings(monkeypatch, stack: str, config: dict, secret_keys: tuple[str, ...] = ()) -> list[str]:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **k: warnings.append(msg))
    run_stack(stack, config, secret_keys=secret_keys)
    return warnings


def test_stack_without_receivers_warns_loudly_at_preview(monkeypatch):
    warnings = preview_warnings(monkeypatch, "staging", stack_file_config("staging"))
    assert any("has no alert receiver" in w and "notify nobody" in w and "alerting.webhooks" in w for w in warnings)


def test_stack_with_a_receiver_does_not_warn(monkeypatch):
    config = {**stack_file_config("dev"), "alerting": {"webhooks": ["http://127.0.0.1:9999/hook"]}}
    assert not [w for w in preview_warnings(monkeypatch, "dev", config) if "alert receiver" in w]


def amtool_check(config_text: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "alertmanager.yml"
    path.write_text(config_text)
    return subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True, timeout=60)


@needs_amtool
def test_alertmanager_config_of_every_shipped_stack_passes_amtool(run, tmp_path):
    result = amtool_check(upload(run, "alertmanager", "/etc/alertmanager/alertmanager.yml"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_amtool
def test_alertmanager_config_with_email_and_webhook_passes_amtool(configured, tmp_path):
    result = amtool_check(upload(configured, "alertmanager", "/etc/alertmanager/alertmanager.yml"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 receivers" in result.stdout


def test_alert_rules_header_names_where_alerts_go():
    _, catalog = offline_catalog("staging")
    rules = next(f.content for f in catalog.services["prometheus"].files if f.path.endswith("platform.yml"))
    assert "No receiver is assumed" not in rules and "Alertmanager" in rules.splitlines()[0]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_receiver_example_in_the_stack_file_is_valid_once_uncommented(stack):
    from .harness import REPO

    text = (REPO / f"Pulumi.{stack}.yaml").read_text()
    block = text[text.index("  # mlops-platform:alerting:") :]
    example = yaml.safe_load("\n".join(line.replace("  # ", "  ", 1) for line in block.splitlines()))
    config = {**project_config(stack), **{k.split(":", 1)[1]: v for k, v in example.items()}}
    settings = parse_settings(stack, {**config, "secrets": {"smtpPassword": "x", **BACKUP_TARGET_KEYS}})
    assert settings.alerting.email.to == ["ops@iot64.de"]
    assert f"pulumi config set --stack {stack} --secret --path 'secrets.smtpPassword'" in text
