"""Check results, retrying with back-off within one time budget, and the table/JSON report."""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import asdict, dataclass
from typing import Callable

import httpx


class CheckFailed(Exception):
    """A check's expectation did not hold; the message is the table's detail."""


class Skipped(Exception):
    """The check does not apply to this stack; the message says why."""


@dataclass
class Result:
    check: str
    result: str  # "ok" | "FAIL" | "skip"
    detail: str
    attempts: int = 1
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.result == "FAIL"


class Budget:
    """One deadline shared by all checks: a failing check is retried with exponential
    back-off while a fresh deploy settles; once the deadline passes, every remaining
    check still gets exactly one attempt."""

    def __init__(self, seconds: float, first_delay: float = 1.0, max_delay: float = 15.0):
        self.deadline = time.monotonic() + max(0.0, seconds)
        self.first_delay = first_delay
        self.max_delay = max_delay

    def run(self, name: str, check: Callable[[], str]) -> Result:
        started = time.monotonic()
        delay, attempts = self.first_delay, 0
        while True:
            attempts += 1
            try:
                detail = check()
                return Result(name, "ok", detail, attempts, round(time.monotonic() - started, 2))
            except Skipped as exc:
                return Result(name, "skip", str(exc), attempts, round(time.monotonic() - started, 2))
            except (CheckFailed, httpx.HTTPError, ssl.SSLError, OSError, ValueError, KeyError) as exc:
                detail = describe(exc)
            if time.monotonic() + delay > self.deadline:
                return Result(name, "FAIL", detail, attempts, round(time.monotonic() - started, 2))
            time.sleep(delay)
            delay = min(delay * 2, self.max_delay)


def describe(exc: Exception) -> str:
    if isinstance(exc, CheckFailed):
        return str(exc)
    if isinstance(exc, httpx.HTTPError) and getattr(exc, "request", None) is not None:
        try:
            return f"{type(exc).__name__} on {exc.request.url}: {exc}"
        except RuntimeError:
            pass
    return f"{type(exc).__name__}: {exc}"


def mask(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text


def table(results: list[Result]) -> str:
    rows = [("check", "result", "detail")] + [(r.check, r.result, r.detail) for r in results]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    lines.insert(1, f"{'-' * w0}  {'-' * w1}  {'-' * 6}")
    failed = sum(r.failed for r in results)
    lines.append("")
    lines.append(f"FAILED: {failed} of {len(results)} checks" if failed else f"ok: all {len(results)} checks passed")
    return "\n".join(lines)


def as_json(stack: str, results: list[Result]) -> str:
    return json.dumps(
        {"stack": stack, "ok": not any(r.failed for r in results), "checks": [asdict(r) for r in results]},
        indent=2,
    )
