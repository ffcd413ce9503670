"""benchmarks/scale.py writes data sets of the size asked, and judges each goal from its figures."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "scale.py"


def _load():
    spec = importlib.util.spec_from_file_location("scale_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


scale = _load()


def test_a_data_set_is_written_to_at_most_its_size_in_whole_rows(tmp_path):
    source = tmp_path / "adult.csv"
    source.write_bytes(b"age,income\n" + b"".join(b"%d,<=50K\n" % i for i in range(10, 60)))
    target = tmp_path / "big.csv"
    rows = scale.write_dataset(source, target, 2_000)
    data = target.read_bytes()
    assert 2_000 - 9 < len(data) <= 2_000  # one more row would pass the size
    assert data.startswith(b"age,income\n") and data.endswith(b"\n")
    assert data.count(b"\n") == rows + 1


def test_sizes_are_decimal_megabytes_and_gigabytes():
    assert scale.parse_size("100M") == 100_000_000 and scale.parse_size("2G") == 2_000_000_000


def figures(**over) -> dict:
    base = dict(bytes=1_000_000_000, rows=9_000_000, upload_s=10.0, api_idle=300.0, api_peak=400.0, preview_ms=20.0,
                train_s=60.0, trained_rows=9_000_000, train_peak=1000.0, score_s=50.0, score_rows=9_000_000, score_peak=900.0)  # fmt: skip
    return {**base, **over}


def goal_lines(capsys, **over) -> dict[str, str]:
    scale.print_results([figures(**over)], api_limit=1024, worker_limit=2048)
    out = capsys.readouterr().out.split("goals:")[1].splitlines()[1:]
    found = [re.match(r"\s*\d+ MB\s+(met|NOT MET)\s+(.+)$", line).groups() for line in out]
    return {goal: verdict for verdict, goal in found}


def test_every_goal_is_met_by_figures_within_it(capsys):
    assert set(goal_lines(capsys).values()) == {"met"}


def test_an_api_peak_above_idle_plus_150_mb_is_not_met(capsys):
    assert goal_lines(capsys, api_peak=451.0)["API peak <= idle + 150 MB"] == "NOT MET"


def test_a_worker_above_80_percent_of_its_limit_is_not_met(capsys):
    lines = goal_lines(capsys, train_peak=1700.0)
    assert lines["worker peak <= 80% of limit (training)"] == "NOT MET" and lines["worker peak <= 80% of limit (scoring)"] == "met"


def test_scoring_below_100k_rows_per_second_at_1_gb_is_not_met(capsys):
    assert goal_lines(capsys, score_s=100.0)["scoring >= 100k rows/s at 1 GB"] == "NOT MET"
