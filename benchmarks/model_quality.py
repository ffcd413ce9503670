"""Model quality and in-process scoring speed on a CSV you name (the data is never in the repository).

Prints held-out accuracy, F1 and ROC AUC of the default pipeline (reference for
gradient-boosted trees on Adult: about 0.87 accuracy, 0.92 AUC), and rows/s of
in-process scoring, the floor for the end-to-end batch figures.
Run: .venv/bin/python benchmarks/model_quality.py PATH.csv [--target income]
     (or set MLOPS_BENCHMARK_CSV=PATH.csv; docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "app" / "common"), str(ROOT / "app" / "processor")]

from data_processor import modeling  # noqa: E402
from pipeline_common.tabular import read_csv  # noqa: E402


CSV_ENV = "MLOPS_BENCHMARK_CSV"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The CSV is required (argument or MLOPS_BENCHMARK_CSV): no default path outside the repository."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=os.environ.get(CSV_ENV) or None,
                        help=f"labelled CSV, e.g. UCI Adult (default: ${CSV_ENV})")
    parser.add_argument("--target", default="income", help="label column (default: income)")
    args = parser.parse_args(argv)
    if args.csv is None:
        parser.error(f"name the CSV: benchmarks/model_quality.py PATH.csv (or set {CSV_ENV})")
    args.csv = Path(args.csv)
    if not args.csv.is_file():
        parser.error(f"{args.csv}: no such file")
    return args


def main() -> None:
    args = arguments()
    path, target = args.csv, args.target
    df = read_csv(path.read_bytes())
    X, y = modeling.prepare(df, target)
    split = modeling.split(X, y)
    started = time.perf_counter()
    model, _ = modeling.fit(split)
    fit_s = time.perf_counter() - started
    metrics = modeling.evaluate(model, split.X_test, split.y_test)
    majority = split.y_test.value_counts(normalize=True).max()
    big = X.sample(200_000, replace=True, random_state=0)
    started = time.perf_counter()
    model.predict_proba(big)
    rows_s = len(big) / (time.perf_counter() - started)
    print(f"data: {path.name}, {len(df)} rows, target '{target}', held-out {len(split.X_test)} rows")
    print(f"accuracy {metrics['accuracy']:.4f}  f1 {metrics['f1']:.4f}  roc_auc {metrics['roc_auc']:.4f}  (majority class {majority:.4f})")
    print(f"fit {fit_s:.2f} s; in-process scoring {rows_s:,.0f} rows/s")


if __name__ == "__main__":
    main()
