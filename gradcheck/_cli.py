"""The ``gradcheck`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from gradcheck._demo import demo

    result = demo(seed=args.seed, bug=args.bug)
    print(result)
    return 0 if result.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck", description="Gradient checking with an error model."
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("demo", help="check a built-in two-layer network and print the report")
    p.add_argument("--bug", action="store_true", help="plant a bug (dW1 forgets tanh')")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or sys.argv[1:])])
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
