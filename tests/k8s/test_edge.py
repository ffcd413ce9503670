"""The Kubernetes edge (infra/targets/kubernetes/edge.py) and the cluster add-ons (infra/targets/kubernetes/addons.py).

The expected hosts, ports and limits are written out here (the specification, as the Docker
edge's catalog states them); the program derives them from the catalog.
"""

from __future__ import annotations

import lupa
import pytest

from infra.targets.kubernetes import addons
from infra.targets.kubernetes.edge import htpasswd_line
from infra.settings import BASIC_AUTH_SERVICES, ConfigError, parse_settings
from tests.infra.harness import SECRET_SIG, plain_text_secrets, secret_value

from .harness import manifest, run_k8s_stack
from .test_k8s_stack import NAMESPACE, stack_catalog
from .test_network_policies import allows, policies

#: service -> (host on the k8s-staging stack, Service port, nginx client_max_body_size).
PUBLIC = {
    "rabbitmq": ("rabbitmq.staging.mlops.iot64.de", 15672, "1m"),
    "minio": ("s3.staging.mlops.iot64.de", 9001, "5g"),
    "mlflow": ("mlflow.staging.mlops.iot64.de", 5000, "2g"),
    "grafana": ("monitoring.staging.mlops.iot64.de", 3000, "1m"),
    "api": ("api.staging.mlops.dns64.de", 8000, "2g"),
    "ui": ("app.staging.mlops.dns64.de", 8501, "200m"),
}
MIB = 1024 * 1024
BODY_BYTES = {"rabbitmq": MIB, "minio": 5 * 1024 * MIB, "mlflow": 2 * 1024 * MIB, "grafana": MIB, "api": 2 * 1024 * MIB, "ui": 200 * MIB}
#: Services whose public port also serves /metrics: the Docker edge answers 404 there.
METRICS_ON_PUBLIC_PORT = {"api", "grafana", "mlflow"}
BASE = {"target": "kubernetes", "acmeEmail": "ops@iot64.de"}
WITH_ADDONS = {**BASE, "kubernetes": {"installClusterAddons": True}}


def objects(run, kind: str) -> dict[str, dict]:
    return {manifest(r)["metadata"]["name"]: manifest(r) for r in run.resources if r.type.endswith(f":{kind}")}


def resource(run, kind: str, name: str):
    return next(r for r in run.resources if r.type.endswith(f":{kind}") and manifest(r)["metadata"]["name"] == name)


def service_routes(run) -> dict[str, dict]:
    return {n: r for n, r in objects(run, "HTTPRoute").items() if n != "https-redirect"}


@pytest.fixture(scope="module")
def addon_run():
    return run_k8s_stack(WITH_ADDONS)


def test_the_catalogs_public_services_are_the_specified_ones():
    catalog = stack_catalog()
    public = catalog.public()
    assert {n: (s.public.port, s.public.max_body) for n, s in public.items()} == {n: (p, b) for n, (_, p, b) in PUBLIC.items()}


def test_every_public_host_has_exactly_one_route_to_its_service_port(run):
    routes = service_routes(run)
    assert set(routes) == set(PUBLIC)
    for name, (host, port, _) in PUBLIC.items():
        spec = routes[name]["spec"]
        assert spec["hostnames"] == [host], name
        backends = [b for rule in spec["rules"] for b in rule.get("backendRefs", [])]
        assert backends == [{"name": name, "port": port}], name
        assert [p["sectionName"] for p in spec["parentRefs"]] == [f"https-{name}"], name
    hosts = [h for r in routes.values() for h in r["spec"]["hostnames"]]
    assert sorted(hosts) == sorted(h for h, _, _ in PUBLIC.values())


def test_every_public_host_has_an_https_listener_with_its_own_certificate(run):
    (gateway,) = objects(run, "Gateway").values()
    listeners = {lis["name"]: lis for lis in gateway["spec"]["listeners"]}
    for name, (host, _, _) in PUBLIC.items():
        lis = listeners[f"https-{name}"]
        assert (lis["hostname"], lis["port"], lis["protocol"]) == (host, 443, "HTTPS"), name
        assert lis["tls"] == {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": f"{name}-tls"}]}
    assert len({lis["tls"]["certificateRefs"][0]["name"] for lis in listeners.values() if "tls" in lis}) == len(PUBLIC)
    # cert-manager's gateway-shim issues each listener's certificate from the stack's Issuer.
    assert gateway["metadata"]["annotations"] == {"cert-manager.io/issuer": "letsencrypt"}
    assert set(objects(run, "Issuer")) == {"letsencrypt"}
    assert gateway["metadata"]["namespace"] == NAMESPACE and gateway["spec"]["gatewayClassName"] == addons.GATEWAY_CLASS


def test_plain_http_redirects_to_https_for_every_public_host(run):
    (gateway,) = objects(run, "Gateway").values()
    (http,) = [lis for lis in gateway["spec"]["listeners"] if lis["protocol"] == "HTTP"]
    assert (http["name"], http["port"]) == ("http", 80)
    redirect = objects(run, "HTTPRoute")["https-redirect"]["spec"]
    assert [p["sectionName"] for p in redirect["parentRefs"]] == ["http"]
    assert sorted(redirect["hostnames"]) == sorted(h for h, _, _ in PUBLIC.values())
    (rule,) = redirect["rules"]
    assert rule == {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}


@pytest.mark.parametrize(
    "staging, directory",
    [(True, "https://acme-staging-v02.api.letsencrypt.org/directory"), (False, "https://acme-v02.api.letsencrypt.org/directory")],
    ids=["staging", "production"],
)
def test_the_issuer_uses_the_lets_encrypt_directory_acme_staging_names(staging, directory):
    run = run_k8s_stack({**BASE, "acmeStaging": staging, "acmeEmail": "certs@iot64.de"})
    acme = objects(run, "Issuer")["letsencrypt"]["spec"]["acme"]
    assert acme["server"] == directory
    assert acme["email"] == "certs@iot64.de"


def test_the_staging_stack_file_uses_the_staging_directory(run):
    assert objects(run, "Issuer")["letsencrypt"]["spec"]["acme"]["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"


def test_http01_challenges_are_solved_through_the_gateways_http_listener(run):
    (solver,) = objects(run, "Issuer")["letsencrypt"]["spec"]["acme"]["solvers"]
    route = solver["http01"]["gatewayHTTPRoute"]
    assert route["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge", "sectionName": "http"}]


def test_basic_auth_hosts_and_only_they_get_a_security_policy_with_their_htpasswd_secret(run):
    catalog = stack_catalog()
    protected = {n for n, s in catalog.public().items() if s.public.basic_auth}
    assert protected == set(BASIC_AUTH_SERVICES) == {"mlflow", "ui"}
    policies_ = objects(run, "SecurityPolicy")
    assert set(policies_) == protected
    for name in protected:
        spec = policies_[name]["spec"]
        assert spec["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": name}]
        assert spec["basicAuth"] == {"users": {"group": "", "kind": "Secret", "name": f"{name}-htpasswd"}}
        secret = objects(run, "Secret")[f"{name}-htpasswd"]
        assert secret["type"] == "Opaque" and set(secret["stringData"]) == {".htpasswd"}


def test_the_htpasswd_holds_the_sha_of_the_docker_edges_generated_password(run):
    secret = resource(run, "Secret", "ui-htpasswd")
    password = secret_value("mlops-platform-k8s-staging-ui-basic-auth")
    assert manifest(secret)["stringData"][".htpasswd"] == htpasswd_line(password)
    # Known answer: SHA-1 of "password", base64 (the htpasswd -s form Envoy Gateway reads).
    assert htpasswd_line("password") == "mlops:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"


def test_the_htpasswd_and_its_password_are_never_plain_text_in_any_resource_input(run):
    secret = resource(run, "Secret", "ui-htpasswd")
    raw = secret.raw["stringData"]
    assert SECRET_SIG in raw or SECRET_SIG in raw[".htpasswd"]  # wrapped as a Pulumi secret
    values = []
    for name in BASIC_AUTH_SERVICES:
        password = secret_value(f"mlops-platform-k8s-staging-{name}-basic-auth")
        values += [password, htpasswd_line(password).strip()]
    assert plain_text_secrets(run, values) == []


def _lua(run, name: str):
    (lua,) = objects(run, "EnvoyExtensionPolicy")[name]["spec"]["lua"]
    assert lua["type"] == "Inline"
    runtime = lupa.LuaRuntime()
    runtime.execute(lua["inline"])
    return runtime


class _Handle:
    """What the script uses of Envoy's Lua stream handle (headers():get/add, respond)."""

    def __init__(self, headers: dict[str, str]):
        self._headers = dict(headers)
        self.response = None
        outer = self

        class Headers:
            def get(self, name):
                return outer._headers.get(name)

            def add(self, name, value):
                outer._headers[name] = value

        self._h = Headers()

    def headers(self):
        return self._h

    def respond(self, headers, body):
        self.response = (dict(headers), body)


def test_body_limits_match_the_catalog(run):
    for name, limit in BODY_BYTES.items():
        lua = _lua(run, name)
        at, over = _Handle({"content-length": str(limit)}), _Handle({"content-length": str(limit + 1)})
        lua.globals().envoy_on_request(at)
        lua.globals().envoy_on_request(over)
        assert at.response is None, name
        assert over.response[0][":status"] == "413", name
        chunked = _Handle({})
        lua.globals().envoy_on_request(chunked)
        assert chunked.response is None


def test_security_headers_and_hsts_are_added_only_where_the_app_sent_none(run):
    lua = _lua(run, "grafana")
    bare, own = _Handle({}), _Handle({"x-frame-options": "deny"})
    lua.globals().envoy_on_response(bare)
    lua.globals().envoy_on_response(own)
    assert bare._headers == {
        "strict-transport-security": "max-age=31536000",
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "SAMEORIGIN",
    }
    assert own._headers["x-frame-options"] == "deny"


def test_rate_limits_keep_the_catalogs_rate_per_client_address(run):
    catalog = stack_catalog()
    traffic = objects(run, "BackendTrafficPolicy")
    assert set(traffic) == set(PUBLIC)
    for name, policy in traffic.items():
        rules = policy["spec"]["rateLimit"]["local"]["rules"]
        assert [r["clientSelectors"] for r in rules] == [
            [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}],
            [{"sourceCIDR": {"type": "Distinct", "value": "::/0"}}],
        ]
        per_second = catalog.services[name].public.rate_limit.per_second
        assert all(r["limit"] == {"requests": per_second * 60, "unit": "Minute"} for r in rules), name


def test_rate_limiting_runs_before_basic_auth_as_on_nginx(run):
    (gateway,) = objects(run, "Gateway").values()
    ref = gateway["spec"]["infrastructure"]["parametersRef"]
    proxy = objects(run, "EnvoyProxy")[ref["name"]]
    assert ref["kind"] == "EnvoyProxy"
    assert proxy["spec"]["filterOrder"] == [
        {"name": "envoy.filters.http.local_ratelimit", "before": "envoy.filters.http.basic_auth"}
    ]


def test_metrics_paths_on_public_ports_answer_404_at_the_edge(run):
    for name in METRICS_ON_PUBLIC_PORT:
        rules = service_routes(run)[name]["spec"]["rules"]
        assert rules[0]["matches"] == [{"path": {"type": "Exact", "value": "/metrics"}}], name
        assert "backendRefs" not in rules[0]
        (flt,) = rules[0]["filters"]
        target = objects(run, "HTTPRouteFilter")[flt["extensionRef"]["name"]]
        assert target["spec"]["directResponse"]["statusCode"] == 404
    hidden = {n for n, r in service_routes(run).items() if any("matches" in rule for rule in r["spec"]["rules"])}
    assert hidden == METRICS_ON_PUBLIC_PORT


def test_the_gateway_namespace_reaches_every_routes_backend_and_the_acme_solvers(run):
    for name, route in service_routes(run).items():
        for rule in route["spec"]["rules"]:
            for backend in rule.get("backendRefs", []):
                assert _gateway_may_reach(run, {"app.kubernetes.io/name": backend["name"]}, backend["port"]), name
    assert _gateway_may_reach(run, {"acme.cert-manager.io/http01-solver": "true"}, 8089)
    assert not _gateway_may_reach(run, {"app.kubernetes.io/name": "postgres"}, 5432)
    assert not allows(run, "Ingress", "rabbitmq", "api", 15672)  # still only from the gateway


def _gateway_may_reach(run, pod_labels: dict[str, str], port: int) -> bool:
    gateway_ns = {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}
    for pol in policies(run):
        selector = pol["spec"]["podSelector"].get("matchLabels", {})
        if "Ingress" not in pol["spec"]["policyTypes"] or any(pod_labels.get(k) != v for k, v in selector.items()):
            continue
        for rule in pol["spec"].get("ingress", []):
            if any(peer.get("namespaceSelector") == gateway_ns for peer in rule.get("from", [])) and any(
                p["port"] == port for p in rule["ports"]
            ):
                return True
    return False


def test_without_tls_routes_use_the_http_listener_and_no_certificates_are_requested():
    run = run_k8s_stack({"target": "kubernetes", "tls": False})
    (gateway,) = objects(run, "Gateway").values()
    assert [lis["protocol"] for lis in gateway["spec"]["listeners"]] == ["HTTP"]
    assert "annotations" not in gateway["metadata"] and not objects(run, "Issuer")
    assert {p["sectionName"] for r in service_routes(run).values() for p in r["spec"]["parentRefs"]} == {"http"}
    assert "https-redirect" not in objects(run, "HTTPRoute")


def test_no_cluster_addons_are_installed_by_default(run):
    assert not [r for r in run.resources if r.type.startswith("kubernetes:helm.sh/") or r.type.endswith(":GatewayClass")]


def test_cluster_addons_are_installed_from_pinned_charts_when_enabled(addon_run):
    charts = {r.inputs["chart"]: r for r in addon_run.resources if r.type.startswith("kubernetes:helm.sh/")}
    assert {c: r.inputs["version"] for c, r in charts.items()} == {
        "oci://docker.io/envoyproxy/gateway-crds-helm": "v1.9.0",
        "oci://docker.io/envoyproxy/gateway-helm": "v1.9.0",
        "cert-manager": "v1.21.1",
        "keda": "2.20.2",
        "metrics-server": "3.13.1",
    }
    assert charts["cert-manager"].inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert charts["keda"].inputs["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    assert charts["oci://docker.io/envoyproxy/gateway-helm"].inputs["namespace"] == "envoy-gateway-system"


def test_metrics_server_for_the_apis_cpu_hpa_comes_from_its_pinned_upstream_chart(addon_run):
    (release,) = [r.inputs for r in addon_run.resources if r.type.startswith("kubernetes:helm.sh/") and r.inputs["chart"] == "metrics-server"]
    assert release["repositoryOpts"] == {"repo": "https://kubernetes-sigs.github.io/metrics-server/"}
    assert (release["version"], release["namespace"]) == ("3.13.1", "kube-system")
    assert release.get("values", {}) == {}  # the chart's defaults: kubelet certificates are checked


def test_metrics_server_skips_kubelet_certificate_checks_only_with_kubelet_insecure_tls():
    config = {**BASE, "kubernetes": {"installClusterAddons": True, "kubeletInsecureTls": True}}
    run = run_k8s_stack(config)
    (release,) = [r.inputs for r in run.resources if r.type.startswith("kubernetes:helm.sh/") and r.inputs["chart"] == "metrics-server"]
    assert release["values"] == {"args": ["--kubelet-insecure-tls"]}


def test_the_gateway_api_crds_are_the_standard_channel_and_installed_once(addon_run):
    charts = {r.inputs["chart"]: r.inputs for r in addon_run.resources if r.type.startswith("kubernetes:helm.sh/")}
    crds = charts["oci://docker.io/envoyproxy/gateway-crds-helm"]["values"]["crds"]
    assert crds["gatewayAPI"] == {"enabled": True, "channel": "standard"}
    assert charts["oci://docker.io/envoyproxy/gateway-helm"]["values"]["crds"] == {"enabled": False}
    cert_manager = charts["cert-manager"]["values"]
    assert cert_manager["crds"] == {"enabled": True} and cert_manager["config"]["gatewayAPI"] == {"enabled": True}


def _depends_transitively(run, res, target_urn: str) -> bool:
    by_urn = {r.urn: r for r in run.resources}
    seen, todo = set(), list(res.dependencies)
    while todo:
        urn = todo.pop()
        if urn == target_urn:
            return True
        if urn not in seen and urn in by_urn:
            seen.add(urn)
            todo += by_urn[urn].dependencies
    return False


def test_the_gateway_and_issuer_depend_on_the_addons_when_installed(addon_run):
    helm = {r.inputs["chart"]: r.urn for r in addon_run.resources if r.type.startswith("kubernetes:helm.sh/")}
    gateway, issuer = resource(addon_run, "Gateway", "edge"), resource(addon_run, "Issuer", "letsencrypt")
    for chart in ("oci://docker.io/envoyproxy/gateway-crds-helm", "oci://docker.io/envoyproxy/gateway-helm"):
        assert helm[chart] in gateway.dependencies, chart
    gateway_class = next(r for r in addon_run.resources if r.type.endswith(":GatewayClass"))
    assert gateway_class.urn in gateway.dependencies
    assert helm["cert-manager"] in issuer.dependencies
    for kind in ("SecurityPolicy", "BackendTrafficPolicy", "EnvoyExtensionPolicy"):
        policy = resource(addon_run, kind, "ui")
        assert _depends_transitively(addon_run, policy, helm["oci://docker.io/envoyproxy/gateway-crds-helm"]), kind


def test_kedas_objects_wait_for_the_keda_release_when_installed(addon_run, run):
    keda = next(r.urn for r in addon_run.resources if r.type.startswith("kubernetes:helm.sh/") and r.inputs["chart"] == "keda")
    for kind in ("ScaledObject", "TriggerAuthentication"):
        (obj,) = [r for r in addon_run.resources if r.type.endswith(f":{kind}")]
        assert keda in obj.dependencies, kind
    assert not [r for r in run.resources if r.type.startswith("kubernetes:helm.sh/")]  # nothing to wait for by default


def test_cert_manager_and_envoy_gateway_start_after_the_gateway_api_crds(addon_run):
    helm = {r.inputs["chart"]: r for r in addon_run.resources if r.type.startswith("kubernetes:helm.sh/")}
    crds = helm["oci://docker.io/envoyproxy/gateway-crds-helm"].urn
    assert crds in helm["cert-manager"].dependencies
    assert crds in helm["oci://docker.io/envoyproxy/gateway-helm"].dependencies


@pytest.mark.parametrize("value, ok", [(True, True), ("false", True), ("yes", False), (1, False)])
def test_install_cluster_addons_takes_only_true_or_false(value, ok):
    config = {**BASE, "kubernetes": {"installClusterAddons": value}}
    if ok:
        assert parse_settings("k8s-staging", config).kubernetes.installClusterAddons == (str(value).lower() == "true")
    else:
        with pytest.raises(ConfigError, match="kubernetes.installClusterAddons: '.*' is not a boolean"):
            parse_settings("k8s-staging", config)


def test_the_skipped_edge_services_name_what_replaces_them_on_kubernetes():
    from infra.targets.kubernetes import plan

    for name in ("proxy", "docker-gen", "acme"):
        assert "not rendered yet" not in plan.SKIPPED[name] and "infra/targets/kubernetes/edge.py" in plan.SKIPPED[name], name
