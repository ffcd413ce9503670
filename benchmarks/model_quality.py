"""Model quality and in-process scoring speed on a CSV (default: ../shared/data/adult.csv).

Prints held-out accuracy, F1 and ROC AUC of the default pipeline (reference for
gradient-boosted trees on Adult: about 0.87 accuracy, 0.92 AUC), and rows/s of
in-process scoring, the floor for the end-to-end batch figures.
Run: .venv/bin/python benchmarks/model_quality.py [path.csv] [target]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "app" / "common"), str(ROOT / "app" / "processor")]

from data_processor import modeling  # noqa: E402
from pipeline_common.tabular import read_csv  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "adult.csv"
    target = sys.argv[2] if len(sys.argv) > 2 else "income"
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
