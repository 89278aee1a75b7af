"""The ``gradcheck`` command: ``gradcheck prove`` (the proof report) and ``gradcheck demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def _demo(args: argparse.Namespace) -> int:
    from gradcheck._demo import demo

    result = demo(seed=args.seed, bug=args.bug)
    print(result)
    return 0 if result.ok else 1


def _prove(args: argparse.Namespace) -> int:
    from gradcheck._prove import ProveOptions, prove

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = sorted(set(formats) - {"md", "html", "json"})
    if bad:
        print(
            f"gradcheck prove: unknown --format {', '.join(bad)}; use md,html,json", file=sys.stderr
        )
        return 4
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
    )
    return prove(opts)


def _add_prove(sub: Any) -> None:
    p = sub.add_parser(
        "prove",
        help="run the proofs and write the report (proof.md, proof.html, proof.json, figures)",
        description="Run the tests that prove the catalogue's IDs (pytest underneath, "
        "pytest-xdist for -n), print the per-ID table and write the report. Exit status 1 when "
        "an ID failed or is unproven (0 with --allow-unproven if none failed).",
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
    p.add_argument("--catalogue", metavar="PATH", help="JSON catalogue (default: the article's)")
    p.add_argument("--no-figures", action="store_true", help="skip drawing the figures")
    p.add_argument("--pytest-args", nargs=argparse.REMAINDER, help="passed on to pytest")
    p.set_defaults(run=_prove)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or sys.argv[1:])])
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
