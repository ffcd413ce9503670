"""The deployment diagrams in README.md and docs/kubernetes.md are the ones the catalog generates: the
Docker target for the production stack file, the Kubernetes target for k8s-staging (what
infra/targets/kubernetes/plan.py renders); `--write` keeps both current."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.assembly import offline_catalog
from infra import diagram
from infra.diagram import block, k8s_block, mermaid, stack_config
from infra.targets.kubernetes import plan

README = Path(__file__).resolve().parents[2] / "README.md"
KUBERNETES_DOC = README.parent / "docs" / "kubernetes.md"
STACKS = ("dev", "staging", "production")


def test_readme_diagram_matches_the_production_stack():
    assert block("production") in README.read_text(), "run `python -m infra.diagram --write`"


def test_kubernetes_doc_diagram_matches_the_k8s_staging_stack():
    assert k8s_block("k8s-staging") in KUBERNETES_DOC.read_text(), "run `python -m infra.diagram --write`"


def test_write_brings_both_diagrams_up_to_date_in_their_files(tmp_path):
    readme, k8s_doc = tmp_path / "README.md", tmp_path / "kubernetes.md"
    readme.write_text(f"# intro\n\n{diagram.BEGIN}\nstale\n{diagram.END}\n\nrest\n")
    k8s_doc.write_text(f"# Kubernetes target\n\n{diagram.K8S_BEGIN}\nstale\n{diagram.K8S_END}\n\nrest\n")
    diagram.write_diagrams(readme, k8s_doc)
    assert readme.read_text() == f"# intro\n\n{block('production')}\n\nrest\n"
    assert k8s_doc.read_text() == f"# Kubernetes target\n\n{k8s_block('k8s-staging')}\n\nrest\n"


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_shows_every_public_host_of_the_stack(stack):
    settings, catalog = offline_catalog(stack, stack_config(stack))
    text = mermaid(stack)
    for name in catalog.public():
        assert f"|{settings.public_hosts[name]}| {name}" in text, name


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_shows_the_stacks_processor_replicas(stack):
    replicas = stack_config(stack)["processorReplicas"]
    text = mermaid(stack)
    assert (f"processor[processor x{replicas}]" if replicas > 1 else "processor[processor]") in text


@pytest.mark.parametrize("stack", STACKS)
def test_diagram_shows_every_dependency_with_its_kind(stack):
    _, catalog = offline_catalog(stack, stack_config(stack))
    text = mermaid(stack).splitlines()
    for spec in catalog.services.values():
        for dep in spec.depends_on:
            arrow = "==>" if dep.healthy else "-->"
            assert f"  {dep.service.replace('-', '_')} {arrow} {spec.name.replace('-', '_')}" in text


def test_stacks_with_different_replicas_draw_different_diagrams():
    assert stack_config("staging")["processorReplicas"] != stack_config("production")["processorReplicas"]
    assert mermaid("staging") != mermaid("production")


# ---------------------------------------------------------------- the Kubernetes target

K8S_STACK = "k8s-staging"
NODE = re.compile(r"^\s+(\w+)(?:\[|\{\{|\(\()")  # a node's first mention: id[...], id{{...}}, id((...))
ROUTE = re.compile(r"^  gateway -\.->\|([^|]+)\| (\w+)$")


def _id(name: str) -> str:
    return name.replace("-", "_")


def k8s_catalog():
    return offline_catalog(K8S_STACK, stack_config(K8S_STACK))


def ids(text: str) -> set[str]:
    """Every node id the diagram mentions: declared nodes and both ends of every arrow."""
    out = set()
    for line in text.splitlines():
        if m := NODE.match(line):
            out.add(m[1])
        if re.search(r"[-=.]+>", line):
            out |= set(re.findall(r"^\s+(\w+)", line)) | set(re.findall(r"(\w+)$", line))
    return out


def test_the_k8s_stack_file_selects_the_kubernetes_drawing():
    settings, _ = k8s_catalog()
    assert settings.target == "kubernetes"
    assert "gateway" in mermaid(K8S_STACK) and "proxy" not in mermaid(K8S_STACK)
    assert "gateway" not in mermaid("production")


def test_k8s_diagram_shows_every_rendered_service_and_no_skipped_one():
    _, catalog = k8s_catalog()
    text = mermaid(K8S_STACK)
    drawn = ids(text)
    services = {_id(n) for n in catalog.services}
    expected = {_id(n) for n in plan.rendered(catalog)} | {_id(n) for n in plan.DAEMONSETS}
    assert drawn & services == expected
    assert not drawn & {_id(n) for n in plan.SKIPPED}
    assert plan.SKIPPED and all(name not in text for name in ("docker_gen", "socket_proxy", "cadvisor", "acme"))


def test_k8s_diagram_labels_each_workload_with_its_kind():
    _, catalog = k8s_catalog()
    text = mermaid(K8S_STACK)
    for name in [*plan.rendered(catalog), *plan.DAEMONSETS]:
        assert f'{_id(name)}["{name}: {plan.workload_kind(catalog, name)}' in text, name
    assert plan.workload_kind(catalog, "postgres") == "StatefulSet" and plan.workload_kind(catalog, "api") == "Deployment"
    assert plan.workload_kind(catalog, "node-exporter") == "DaemonSet"


def test_k8s_diagram_routes_exactly_the_public_hosts_through_the_gateway():
    settings, catalog = k8s_catalog()
    routes = [m.groups() for line in mermaid(K8S_STACK).splitlines() if (m := ROUTE.match(line))]
    public = [n for n in catalog.public() if n in plan.rendered(catalog)]
    assert public and sorted(routes) == sorted((settings.public_hosts[n], _id(n)) for n in public)
    assert "internet((Internet)) -->|80/443| gateway" in mermaid(K8S_STACK)


def test_k8s_diagram_draws_exactly_the_k8s_dependency_edges():
    _, catalog = k8s_catalog()
    drawn = {tuple(line.split(" ==> ")) for line in mermaid(K8S_STACK).splitlines() if " ==> " in line}
    expected = {(f"  {_id(dep)}", _id(n)) for n in plan.rendered(catalog) for dep in plan.dependencies(catalog, n)}
    assert expected and drawn == expected
    # Edges to skipped services are dropped, as in the renderer: every Docker edge service is gone.
    assert not any("acme" in a or "acme" in b for a, b in drawn)


def test_k8s_diagram_shows_the_autoscalers_with_the_stacks_bounds():
    config = stack_config(K8S_STACK)["kubernetes"]
    text = mermaid(K8S_STACK)
    api, proc = config["api"], config["processor"]
    assert f'api_scaler{{{{"HPA: {api["minReplicas"]}-{api["maxReplicas"]} replicas at 70% CPU"}}}} -.->|scales| api' in text
    assert f'processor_scaler{{{{"KEDA: {proc["minReplicas"]}-{proc["maxReplicas"]} replicas, ' in text
    assert "-.->|scales| processor" in text and "rabbitmq -.->|queue length| processor_scaler" in text
    # Autoscaled workloads carry no fixed replica count.
    assert 'processor["processor: Deployment"]' in text and 'api["api: Deployment"]' in text


def test_k8s_block_lists_the_skipped_services_outside_the_drawing():
    block_text = k8s_block(K8S_STACK)
    note = block_text.split("```")[-1]
    for name in plan.SKIPPED:
        assert name in note, name


def test_the_cli_draws_the_stack_it_is_given():
    result = subprocess.run(
        [sys.executable, "-m", "infra.diagram", "--stack", K8S_STACK],
        capture_output=True, text=True, cwd=README.parent, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == mermaid(K8S_STACK)
