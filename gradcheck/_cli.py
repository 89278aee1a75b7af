"""The ``gradcheck`` command: ``prove`` (the proof report), ``campaign`` (HypoFuzz on a shared
example database, then prove), ``merge-proofs`` (shards into one report) and ``demo``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any


def _demo(args: argparse.Namespace) -> int:
    from gradcheck._demo import demo
    from gradcheck._errors import GradcheckError

    try:
        result = demo(seed=args.seed, bug=args.bug)
    except GradcheckError as exc:
        print(f"gradcheck demo: {exc}", file=sys.stderr)
        return 2
    print(result)
    return 0 if result.ok else 1


USAGE = 2  # exit status of a usage or setup error (1: an ID failed or is unproven)


def _prove_usage(args: argparse.Namespace) -> str | None:
    """What is wrong before ``gradcheck._prove`` (which needs pytest) can even be imported."""
    from gradcheck._preflight import missing_extra

    if args.workers < 0:
        return f"-n must be 0 (one process) or a number of workers, got {args.workers}"
    bad = sorted({f.strip() for f in args.format.split(",") if f.strip()} - {"md", "html", "json"})
    if bad:
        return f"unknown --format {', '.join(bad)}; use md,html,json"
    return missing_extra(args.workers)


def _prove(args: argparse.Namespace) -> int:
    problem = _prove_usage(args)
    if problem:
        print(f"gradcheck prove: {problem}", file=sys.stderr)
        return USAGE
    from gradcheck._prove import ProveOptions, prove

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    opts = ProveOptions(
        paths=args.paths,
        out=args.out,
        workers=args.workers,
        profile=args.profile,
        formats=formats,
        allow_unproven=args.allow_unproven,
        seed=args.seed,
        catalogue=args.catalogue,
        figures=not args.no_figures,
        pytest_args=args.pytest_args or (),
        database=args.database,
        read_only=args.read_only,
        mirror=args.mirror,
        shard=args.shard,
        package=args.package,
    )
    return prove(opts)


def _add_prove(sub: Any) -> None:
    p = sub.add_parser(
        "prove",
        help="run the proofs and write the report (proof.md, proof.html, proof.json, figures)",
        description="Run the tests that prove the catalogue's IDs (pytest underneath, "
        "pytest-xdist for -n), print the per-ID table and write the report. Without PATHS: "
        "the project configured here (ini gradcheck_catalogue), else the installed proof "
        "package (entry point group gradcheck.proofs). Exit status 0 when every ID is proven, "
        "1 when an ID failed or is unproven (--allow-unproven: only failures count), 2 on a "
        "usage or setup error (one line says which).",
    )
    p.add_argument(
        "paths",
        nargs="*",
        help="test paths (default: pytest's testpaths, else the current directory)",
    )
    p.add_argument("--out", default="build/proof", metavar="DIR", help="report directory")
    p.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers (0: none)")
    p.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough"))
    p.add_argument("--format", default="md,html,json", help="comma list of md, html, json")
    p.add_argument("--allow-unproven", action="store_true", help="exit 0 unless an ID failed")
    p.add_argument("--seed", type=int, help="Hypothesis seed (dev/thorough; ci is derandomized)")
    p.add_argument(
        "--catalogue", metavar="PATH", help="JSON catalogue (default: the ini gradcheck_catalogue)"
    )
    p.add_argument(
        "--package",
        metavar="NAME",
        help="prove the installed proof package NAME (needed when several are installed)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip drawing the figures")
    _add_sharing_flags(p)
    p.add_argument("--pytest-args", nargs=argparse.REMAINDER, help="passed on to pytest")
    p.set_defaults(run=_prove)


def _add_sharing_flags(p: argparse.ArgumentParser) -> None:
    """``prove``'s flags for proofs beyond one machine (gradcheck._sharing)."""
    p.add_argument(
        "--database",
        metavar="URL",
        help="Hypothesis example database to replay first and write to: redis://[:password@]"
        "host:port/db, rediss://… (TLS) or a directory; the password may also come from "
        "$GRADCHECK_REDIS_PASSWORD",
    )
    p.add_argument("--read-only", action="store_true", help="replay the database, never write")
    p.add_argument("--mirror", metavar="DIR", help="local directory that receives every write too")
    p.add_argument("--shard", metavar="I/N", help="prove only the I-th of N parts of the tests")


def _campaign(args: argparse.Namespace) -> int:
    from gradcheck.campaign import CampaignOptions, run_campaign

    rest = list(args.pytest_args or [])
    opts = CampaignOptions(
        database=args.database,
        minutes=args.minutes,
        workers=args.workers,
        pytest_args=rest[1:] if rest[:1] == ["--"] else rest,
        out=args.out,
        profile=args.profile,
        mirror=args.mirror,
        prove_workers=args.prove_workers,
        figures=not args.no_figures,
        allow_unproven=args.allow_unproven,
        catalogue=args.catalogue,
    )
    return run_campaign(opts)


def _add_campaign(sub: Any) -> None:
    p = sub.add_parser(
        "campaign",
        help="fuzz the proofs with HypoFuzz workers on a shared example database, then prove",
        description="Run HypoFuzz workers (extra [campaign]) over the tests for --minutes, "
        "writing what they find to the shared example database (and a local mirror), stop them "
        "cleanly, then run gradcheck prove against the same database. Exit status 2 when the "
        "campaign cannot start (database down, wrong password, HypoFuzz missing), else prove's.",
    )
    p.add_argument("--database", required=True, metavar="URL", help="as for gradcheck prove")
    p.add_argument("--minutes", required=True, type=float, help="how long the workers fuzz")
    p.add_argument("-n", "--workers", type=int, default=os.cpu_count() or 1, help="workers")
    p.add_argument(
        "--mirror",
        default=".hypothesis/campaign-mirror",
        metavar="DIR",
        help="local directory that receives every write too (kept if the shared one is lost)",
    )
    p.add_argument("--out", default="build/proof", metavar="DIR", help="report directory")
    p.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough"), help="proof's")
    p.add_argument("--prove-workers", type=int, default=2, help="pytest-xdist workers of prove")
    p.add_argument("--catalogue", metavar="PATH", help="JSON catalogue (default: the ini's)")
    p.add_argument("--no-figures", action="store_true", help="skip drawing the figures")
    p.add_argument("--allow-unproven", action="store_true", help="exit 0 unless an ID failed")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="test paths and pytest options")
    p.set_defaults(run=_campaign)


def _merge(args: argparse.Namespace) -> int:
    from gradcheck._merge import merge_proofs

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    return merge_proofs(
        args.inputs, args.out, formats, catalogue=args.catalogue, allow_unproven=args.allow_unproven
    )


def _add_merge(sub: Any) -> None:
    p = sub.add_parser(
        "merge-proofs",
        help="combine the proof.json of several runs (shards, machines) into one report",
        description="Combine per-test records of several proof.json files (gradcheck prove "
        "--shard i/n on n machines) into one report: an ID is proven only if every test naming "
        "it produced evidence everywhere; examples are summed. Exit status as gradcheck prove.",
    )
    p.add_argument("inputs", nargs="+", metavar="PROOF.json")
    p.add_argument("--out", required=True, metavar="DIR", help="report directory")
    p.add_argument("--format", default="md,html,json", help="comma list of md, html, json")
    p.add_argument("--catalogue", metavar="PATH", help="JSON catalogue (default: the inputs')")
    p.add_argument("--allow-unproven", action="store_true", help="exit 0 unless an ID failed")
    p.set_defaults(run=_merge)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck", description="Gradient checking with an error model."
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("demo", help="check a built-in two-layer network and print the report")
    p.add_argument("--bug", action="store_true", help="plant a bug (dW1 forgets tanh')")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_demo)
    _add_prove(sub)
    _add_campaign(sub)
    _add_merge(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(sys.argv[1:] if argv is None else argv)])
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
