"""The promotion rule, stated: which held-out metric a new version must beat the champion's on,
and by how much (PROMOTION_METRIC, PROMOTION_MIN_GAIN). Every decision carries the rule and a
verdict that says what was compared, so a job's result explains why the champion moved or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline_common.config import AppSettings


@dataclass(frozen=True)
class Decision:
    promote: bool
    verdict: str


@dataclass(frozen=True)
class Rule:
    metric: str
    min_gain: float

    @classmethod
    def of(cls, settings: AppSettings) -> "Rule":
        return cls(settings.promotion_metric, settings.promotion_min_gain)

    def text(self) -> str:
        return f"{self.metric} must exceed the champion's by more than {self.min_gain:.3f}"

    def first(self) -> Decision:
        return Decision(True, "promoted: the model had no champion")

    def unscorable(self, champion: str, error: str) -> Decision:
        """The champion could not score the held-out rows: nothing was compared, so it stays."""
        return Decision(
            False,
            f"kept: the champion (version {champion}) could not score the held-out rows ({error[:300]}); "
            "nothing was compared, promote by hand if this version should replace it",
        )

    def decide(self, new: dict, old: dict, champion: str) -> Decision:
        """Compare on the metric; an undefined champion score loses, an undefined new one never wins."""
        mine, theirs = _score(new, self.metric), _score(old, self.metric)
        if math.isnan(theirs):
            if math.isnan(mine):
                return Decision(False, f"kept: {self.metric} is undefined on these rows for both this version and the champion (version {champion})")
            return Decision(True, f"promoted: {self.metric} {mine:.3f}; the champion's (version {champion}) is undefined on these rows")
        if math.isnan(mine):
            return Decision(False, f"kept: {self.metric} is undefined on these rows for this version; champion (version {champion}) {theirs:.3f}")
        promote = mine > theirs + self.min_gain
        word = "promoted" if promote else "kept"
        return Decision(promote, f"{word}: {self.metric} {mine:.3f} vs champion (version {champion}) {theirs:.3f}")


def _score(metrics: dict | None, metric: str) -> float:
    value = (metrics or {}).get(metric)
    return math.nan if value is None else float(value)
