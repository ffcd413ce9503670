"""CLI: `python -m infra.verify --stack staging [--json] [--timeout S] [--outputs FILE]`.

Exit status: 0 when every check passed (or does not apply), 1 when any failed,
2 when the outputs cannot be read or an argument is invalid."""

from __future__ import annotations

import argparse
import sys

from . import auth, observability, pipeline, tls
from .context import Context, Options
from .net import ConnectTo
from .outputs import OutputsError, load
from .report import Budget, Result, as_json, mask, table

GROUPS = ("https", "auth", "ready", "e2e", "observability")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m infra.verify", description="Prove that a deployed stack works.")
    p.add_argument("--stack", required=True, help="stack name (reads `pulumi stack output --stack <s> --json --show-secrets`)")
    p.add_argument("--outputs", metavar="FILE", help="read the outputs from this JSON file instead of pulumi")
    p.add_argument("--json", action="store_true", help="print a JSON report instead of the table")
    p.add_argument("--timeout", type=float, default=600, help="total seconds to keep retrying failing checks (default 600; 0 = one attempt)")
    p.add_argument("--job-timeout", type=float, default=300, help="bound in seconds for each job of the end-to-end run (default 300)")
    p.add_argument("--logs-window", default="24h", help="every service must have logged within this Loki range (default 24h)")
    p.add_argument("--only", action="append", choices=GROUPS, help="run only these groups of checks (repeatable)")
    p.add_argument("--ca-file", action="append", default=[], metavar="PEM", help="also trust this CA (repeatable)")
    p.add_argument("--staging-ca-file", action="append", metavar="PEM", help="staging CA roots (default: Let's Encrypt's staging roots)")
    p.add_argument("--connect-to", action="append", default=[], metavar="HOST1:PORT1:HOST2:PORT2", help="as curl's: connect elsewhere, keep Host and SNI")
    return p.parse_args(argv)


def run(ctx: Context, budget: Budget, only: set[str] | None = None) -> list[Result]:
    """The checks in order: the trace check needs the end-to-end job's trace id."""
    results: list[Result] = []

    def group(name: str, checks) -> None:
        if only is None or name in only:
            results.extend(budget.run(check, fn) for check, fn in checks)

    group("https", tls.checks(ctx))
    group("auth", auth.checks(ctx))
    group("ready", [pipeline.ready_check(ctx)])
    e2e = pipeline.EndToEnd(ctx)
    group("e2e", [("e2e job", e2e.check), ("e2e cleanup", e2e.cleanup_check)])
    group("observability", observability.checks(ctx))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = Options(
            ca_files=args.ca_file,
            connect_to=[ConnectTo.parse(s) for s in args.connect_to],
            job_timeout=args.job_timeout,
            logs_window=args.logs_window,
        )
        if args.staging_ca_file:
            options.staging_ca_files = args.staging_ca_file
        outputs = load(args.stack, args.outputs)
    except (OutputsError, ValueError) as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    ctx = Context.create(outputs, options)
    try:
        results = run(ctx, Budget(args.timeout), set(args.only) if args.only else None)
    finally:
        ctx.http.close()
    for r in results:
        r.detail = mask(r.detail, outputs.secret_values())
    print(as_json(args.stack, results) if args.json else table(results))
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
