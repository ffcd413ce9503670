"""Observability as the program deploys it: the files each container receives, checked
with promtool and against the containers of the same stack."""

from __future__ import annotations

import json
import os
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.configs import dashboards
from infra.services.observability import grafana
from tests.scripts import run_volume_usage_once

from .harness import PROJECT
from .test_stacks import env_of, networks_of, service_of

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: apt-get install prometheus (.ci/run does)")

#: Services the issue says Prometheus must scrape, on every stack.
MUST_BE_SCRAPED = {
    "prometheus", "api", "processor", "mlflow", "rabbitmq", "minio", "grafana", "loki", "tempo", "mimir",
    "node-exporter", "cadvisor", "postgres-exporter",
}  # fmt: skip
#: Containers without a metrics endpoint, and why.
NOT_SCRAPED = {
    "proxy": "nginx-proxy has no metrics endpoint; its certificates are probed instead",
    "docker-gen": "docker-gen has no metrics endpoint",
    "socket-proxy": "the Docker socket proxy has no metrics endpoint (and Prometheus may not reach it)",
    "socket-proxy-edge": "the Docker socket proxy has no metrics endpoint (and Prometheus may not reach it)",
    "acme": "acme-companion has no metrics endpoint",
    "postgres": "scraped through postgres-exporter",
    "ui": "Streamlit has no metrics endpoint",
    "volume-usage": "writes its figures for the node exporter's textfile collector",
    "postgres-backup": "writes its figures for the node exporter's textfile collector",
    "object-backup": "writes its figures for the node exporter's textfile collector",
}


def uploads(container) -> dict[str, str]:
    return {u["file"]: u["content"] for u in container.inputs.get("uploads") or []}


def upload(run, service: str, path: str) -> str:
    return uploads(run.container(service))[path]


def aliases(run, network: str) -> dict[str, str]:
    """alias on the stack's `network` ("backend" or "edge") -> service."""
    found = {}
    for c in run.containers.values():
        for net in c.inputs["networksAdvanced"]:
            if net["name"].endswith(f"-{network}"):
                for alias in net["aliases"]:
                    found[alias] = service_of(run, c.urn)
    return found


def public_routes(run) -> dict[str, tuple[str, str]]:
    """service -> (host, port) the proxy routes to it."""
    routes = {}
    for c in run.containers.values():
        env = env_of(c)
        if "VIRTUAL_HOST" in env:
            routes[service_of(run, c.urn)] = (env["VIRTUAL_HOST"], env["VIRTUAL_PORT"])
    return routes


def prometheus_config(run) -> dict:
    return yaml.safe_load(upload(run, "prometheus", "/etc/prometheus/prometheus.yml"))


def scrape_targets(run) -> dict[str, list[str]]:
    """job -> host:port targets, for the jobs that scrape a service directly."""
    return {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in prometheus_config(run)["scrape_configs"]
        if job["metrics_path"] != "/probe"
    }


def write_prometheus_files(run, tmp_path: Path) -> Path:
    """prometheus.yml and its rules in a temp dir, rule_files pointed there."""
    files = uploads(run.container("prometheus"))
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for path, content in files.items():
        if path.startswith("/etc/prometheus/rules/"):
            (rules_dir / Path(path).name).write_text(content)
    config = prometheus_config(run)
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(rules_dir / "*.yml")]
    # Debian's promtool is 2.x, which predates the config file's `storage.tsdb.retention` (v3);
    # test_real_host checks that block against the pinned v3 instead.
    assert config["storage"]["tsdb"].pop("retention")
    target = tmp_path / "prometheus.yml"
    target.write_text(yaml.safe_dump(config))
    return target


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@needs_promtool
def test_prometheus_config_and_rules_pass_promtool_check_config(run, tmp_path):
    result = promtool("check", "config", str(write_prometheus_files(run, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@needs_promtool
def test_alert_rules_pass_promtool_check_rules(run, tmp_path):
    rules = tmp_path / "platform.yml"
    rules.write_text(upload(run, "prometheus", "/etc/prometheus/rules/platform.yml"))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr


def alert_names(run) -> set[str]:
    doc = yaml.safe_load(upload(run, "prometheus", "/etc/prometheus/rules/platform.yml"))
    return {r["alert"] for g in doc["groups"] for r in g["rules"]}


def test_alerts_cover_service_down_backlog_failures_and_disk(run):
    assert {"ServiceDown", "QueueBacklogGrowing", "JobsFailing", "DiskFilling"} <= alert_names(run)


def test_jobs_healed_repeatedly_raise_an_alert(run):
    assert "JobsHealedRepeatedly" in alert_names(run)


def test_certificate_expiry_alert_exists_where_the_proxy_serves_certificates(runs):
    assert "CertificateExpiringSoon" in alert_names(runs["staging"])
    assert "CertificateExpiringSoon" in alert_names(runs["production"])
    assert "CertificateExpiringSoon" not in alert_names(runs["dev"])  # plain HTTP, no certificates


def test_every_scrape_target_is_a_container_prometheus_can_reach(run):
    reachable = aliases(run, "backend")  # Prometheus only joins the backend network
    for job, targets in scrape_targets(run).items():
        for target in targets:
            host, port = target.rsplit(":", 1)
            assert reachable.get(host) == job, f"{job}: target {target} is no container of this stack"


def test_every_service_with_metrics_is_scraped(run):
    scraped = set(scrape_targets(run))
    services = {service_of(run, c.urn) for c in run.containers.values()}
    assert MUST_BE_SCRAPED <= scraped
    assert services - scraped <= set(NOT_SCRAPED), services - scraped - set(NOT_SCRAPED)


def test_every_processor_replica_is_scraped(run):
    replicas = [c for c in run.containers.values() if service_of(run, c.urn) == "processor"]
    assert len(scrape_targets(run)["processor"]) == len(replicas)


def test_certificate_probes_cover_every_public_host_through_the_proxy(runs):
    run = runs["staging"]
    job = next(j for j in prometheus_config(run)["scrape_configs"] if j["metrics_path"] == "/probe")
    proxy_alias = f"{PROJECT}-staging-proxy"
    assert aliases(run, "edge")[proxy_alias] == "proxy"
    modules = yaml.safe_load(upload(run, "blackbox", "/etc/blackbox/blackbox.yml"))["modules"]
    probed = {}
    for sc in job["static_configs"]:
        assert sc["targets"] == [f"{proxy_alias}:443"]
        module = modules[sc["labels"]["__param_module"]]
        assert module["tcp"]["tls_config"]["server_name"] == sc["labels"]["host"]
        probed[sc["labels"]["service"]] = sc["labels"]["host"]
    assert probed == {svc: host for svc, (host, _) in public_routes(run).items()}
    assert "blackbox:9115" in {r.get("replacement") for r in job["relabel_configs"]}
    assert aliases(run, "backend")["blackbox"] == "blackbox"


def test_prometheus_remote_writes_to_mimir(run):
    (remote,) = prometheus_config(run)["remote_write"]
    host = re.match(r"http://([^:/]+):(\d+)/api/v1/push$", remote["url"])
    assert host and aliases(run, "backend")[host.group(1)] == "mimir"


def grafana_datasources(run) -> list[dict]:
    return yaml.safe_load(upload(run, "grafana", "/etc/grafana/provisioning/datasources/platform.yaml"))["datasources"]


def test_every_grafana_data_source_points_to_a_container_of_the_stack(run):
    reachable = aliases(run, "backend")
    for ds in grafana_datasources(run):
        host = re.match(r"http://([^:/]+):(\d+)", ds["url"]).group(1)
        assert host in reachable, f"data source {ds['name']} points to {host}, which is no container"
        assert reachable[host] == ds["name"].lower()


def test_grafana_gets_metrics_logs_and_traces_with_links_between_them(run):
    sources = {ds["uid"]: ds for ds in grafana_datasources(run)}
    assert {"mimir", "prometheus", "loki", "tempo"} <= set(sources)
    assert sources["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert {f["datasourceUid"] for f in sources["loki"]["jsonData"]["derivedFields"]} == {"tempo"}
    assert sum(ds.get("isDefault", False) for ds in sources.values()) == 1


def test_derived_trace_id_field_matches_the_apps_json_log_lines(run):
    from opentelemetry.sdk.trace import TracerProvider
    from pipeline_common.telemetry import JsonFormatter

    record = logging.LogRecord("api", logging.INFO, __file__, 1, "job queued", None, None)
    with TracerProvider().get_tracer("test").start_as_current_span("request") as span:
        line = JsonFormatter().format(record)
    trace_id = format(span.get_span_context().trace_id, "032x")
    loki = next(ds for ds in grafana_datasources(run) if ds["uid"] == "loki")
    regexes = [f["matcherRegex"] for f in loki["jsonData"]["derivedFields"] if f.get("matcherType") != "label"]
    assert any((m := re.search(rx, line)) and m.group(1) == trace_id for rx in regexes), line


def test_error_log_panel_matches_json_and_logfmt_error_lines():
    logs = dashboards.platform_overview(grafana.PANELS)["panels"][-1]
    pattern = re.search(r"\|~ `\(\?i\)(.*)`$", logs["targets"][0]["expr"]).group(1)
    matches = lambda line: re.search(pattern, line, re.IGNORECASE) is not None  # noqa: E731
    assert matches('{"level": "error", "msg": "job failed"}')
    assert matches('ts=2026-11-28 level=error msg="compaction failed"')
    assert not matches('{"level": "info", "msg": "error rate computed"}')


def provisioned_dashboard(run) -> dict:
    files = uploads(run.container("grafana"))
    provider = yaml.safe_load(files["/etc/grafana/provisioning/dashboards/platform.yaml"])["providers"][0]
    directory = provider["options"]["path"]
    (path,) = [p for p in files if p.startswith(directory + "/") and p.endswith(".json")]
    return json.loads(files[path])


def test_platform_overview_dashboard_is_provisioned_with_the_promised_panels(run):
    board = provisioned_dashboard(run)
    titles = {p["title"] for p in board["panels"]}
    assert board["title"] == "Platform overview"
    assert {
        "Services up", "API request rate", "API error rate", "API latency", "Queue depth", "Job duration",
        "Jobs finished", "Container CPU", "Container memory", "Disk use of volumes",
    } <= titles  # fmt: skip


def test_dashboard_data_sources_are_provisioned(run):
    uids = {ds["uid"] for ds in grafana_datasources(run)}
    board = provisioned_dashboard(run)
    (variable,) = board["templating"]["list"]
    assert variable["current"]["value"] in uids
    for panel in board["panels"]:
        for ref in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            assert ref["uid"] in uids | {"${datasource}"}, panel["title"]


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path):
    rules = [
        {"record": f"dashboard:query_{i}", "expr": q.expr.replace("$__rate_interval", "1m")}
        for i, q in enumerate(q for p in grafana.PANELS for q in p.queries)
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_container_panels_use_labels_cadvisor_is_told_to_keep(run):
    command = " ".join(run.container("cadvisor").inputs["command"])
    kept = re.search(r"--whitelisted_container_labels=(\S+)", command).group(1).split(",")
    used = {m for p in grafana.PANELS for q in p.queries for m in re.findall(r"container_label_(\w+)", q.expr)}
    assert used <= {k.replace(".", "_") for k in kept}


def test_every_yaml_and_json_file_handed_to_a_container_parses(run):
    for c in run.containers.values():
        for path, content in uploads(c).items():
            if path.endswith((".yml", ".yaml")):
                assert yaml.safe_load(content) is not None, path
            elif path.endswith(".json"):
                json.loads(content)


def test_alloy_ships_logs_of_this_stack_labelled_by_stack_service_and_container(run):
    config = upload(run, "alloy", "/etc/alloy/config.alloy")
    assert f'values = ["mlops.stack={run.stack}"]' in config
    assert 'target_label  = "service"' in config and 'target_label  = "container"' in config
    assert f'labels        = {{ stack = "{run.stack}" }}' in config
    loki = re.search(r'url = "http://([^:]+):\d+/loki/api/v1/push"', config).group(1)
    assert aliases(run, "backend")[loki] == "loki"


def test_apps_send_traces_to_tempo_over_otlp(run):
    for svc in ("api", "processor"):
        container = next(c for c in run.containers.values() if service_of(run, c.urn) == svc)
        host = re.match(r"http://([^:]+):4318$", env_of(container)["OTEL_EXPORTER_OTLP_ENDPOINT"]).group(1)
        assert aliases(run, "backend")[host] == "tempo"


def test_tempo_receives_otlp_on_all_interfaces(run):
    receivers = yaml.safe_load(upload(run, "tempo", "/etc/tempo/config.yaml"))["distributor"]["receivers"]["otlp"]
    assert receivers["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    assert receivers["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"


def test_retention_comes_from_stack_config(runs):
    for stack, (metrics, logs, traces) in {"staging": (15, 7, 3), "production": (90, 30, 14)}.items():
        run = runs[stack]
        assert prometheus_config(run)["storage"]["tsdb"]["retention"]["time"] == f"{metrics}d"
        loki = yaml.safe_load(upload(run, "loki", "/etc/loki/config.yaml"))
        assert loki["limits_config"]["retention_period"] == f"{logs * 24}h"
        tempo = yaml.safe_load(upload(run, "tempo", "/etc/tempo/config.yaml"))
        assert tempo["compactor"]["compaction"]["block_retention"] == f"{traces * 24}h"
        mimir = yaml.safe_load(upload(run, "mimir", "/etc/mimir/config.yaml"))
        assert mimir["limits"]["compactor_blocks_retention_period"] == f"{metrics}d"


def test_postgres_exporter_logs_in_with_the_monitoring_role_and_a_secret_password(run):
    container = run.container("postgres-exporter")
    env = env_of(container)
    assert env["DATA_SOURCE_USER"] == "monitoring" and "DATA_SOURCE_PASS" not in env
    secret_file = next(u for u in container.raw["uploads"] if u["file"] == env["DATA_SOURCE_PASS_FILE"])
    assert "4dabf18193072939515e22adb298388d" in json.dumps(secret_file["content"])  # wrapped as a secret


def test_exporters_never_join_the_edge_network(run):
    for svc in ("node-exporter", "cadvisor", "postgres-exporter"):
        assert networks_of(run.container(svc)) <= {"backend", "dockerapi"}, svc


def volume_usage_text(run, tmp_path: Path, sizes: dict[str, int]) -> str:
    container = run.container("volume-usage")
    textfile = run_volume_usage_once(container.inputs["command"], env_of(container), tmp_path, sizes)
    return (textfile / "volumes.prom").read_text()


def test_volume_usage_reports_every_existing_volume_of_the_stack(run, tmp_path):
    text = volume_usage_text(run, tmp_path, {"postgres": 300_000, "minio": 5_000})
    used = dict(re.findall(r'^mlops_volume_used_bytes\{volume="([\w-]+)"\} (\d+)$', text, re.M))
    assert set(used) == {"postgres", "minio"}  # volumes not created yet are skipped
    assert int(used["postgres"]) >= 300_000 and int(used["minio"]) >= 4096


@needs_promtool
def test_volume_usage_output_is_valid_exposition_format(run, tmp_path):
    text = volume_usage_text(run, tmp_path, {"postgres": 1000})
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_volume_usage_measures_exactly_the_stacks_volumes(run):
    measured = dict(entry.split("=", 1) for entry in env_of(run.container("volume-usage"))["VOLUMES"].split())
    key = lambda v: next(l["value"] for l in v.inputs["labels"] if l["label"] == "mlops.volume")  # noqa: E731
    stack_volumes = {key(v): v.inputs["name"] for v in run.of_type(":Volume")}
    assert measured == stack_volumes


def test_node_exporter_reads_the_volume_figures(run):
    node = run.container("node-exporter")
    usage = run.container("volume-usage")
    textfile = re.search(r"--collector.textfile.directory=(\S+)", " ".join(node.inputs["command"])).group(1)
    shared = lambda c: {m["volumeName"] for m in c.inputs["volumes"] if m.get("containerPath") == textfile}  # noqa: E731
    assert shared(node) and shared(node) == shared(usage)
    for writer in ("postgres-backup", "object-backup"):
        assert shared(run.container(writer)) == shared(node), writer


def backup_metrics_text(tmp_path) -> str:
    """What the backup scripts' write_metrics helper writes for one successful round."""
    from infra.configs.backup import METRICS_HELP

    script = METRICS_HELP + 'write_metrics postgres ok "$(date +%s)" 1024\ncat "$TEXTFILE_DIR/backup_postgres.prom"\n'
    result = subprocess.run(["sh", "-c", script], env={"TEXTFILE_DIR": str(tmp_path), "PATH": os.environ["PATH"]},
                            capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout


def test_dashboard_panels_query_only_metrics_our_scripts_write(run, tmp_path):
    text = volume_usage_text(run, tmp_path, {"postgres": 10}) + backup_metrics_text(tmp_path)
    written = set(re.findall(r"^(mlops_\w+)\{", text, re.M))
    queried = {m for p in grafana.PANELS for q in p.queries for m in re.findall(r"\b(mlops_\w+)", q.expr)}
    assert queried and queried <= written


def test_metrics_endpoints_on_public_ports_are_not_served_by_the_proxy(runs):
    run = runs["staging"]
    vhosts = {Path(p).name: c for p, c in uploads(run.container("proxy")).items() if p.startswith("/etc/nginx/vhost.d/")}
    public = public_routes(run)
    exposed = {job: targets[0].rsplit(":", 1)[1] for job, targets in scrape_targets(run).items()}
    same_port = {svc for svc, (_, port) in public.items() if exposed.get(svc) == port}
    assert same_port == {"api", "mlflow", "grafana"}
    for svc in same_port:
        assert "location = /metrics { return 404; }" in vhosts[public[svc][0]], svc
