"""The README's deployment diagram is the one the catalog generates."""

from pathlib import Path

from infra.diagram import block, mermaid

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_diagram_matches_the_catalog():
    assert block() in README.read_text(), "run `python -m infra.diagram --write`"


def test_diagram_shows_every_public_host_and_health_wait():
    text = mermaid()
    assert "api.mlops.dns64.de" in text and "postgres ==> mlflow" in text
