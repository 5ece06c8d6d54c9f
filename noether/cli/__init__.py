"""``noether-attention`` (also ``python -m noether``): list, inspect, check, run and compare attention.

Each subcommand imports only what it needs: ``list`` reads installed metadata and
never imports torch or plugin code. Errors print one line to stderr and exit
non-zero; ``--debug`` shows the traceback.
"""

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="noether-attention", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="every implementation: source, config class, status")
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    info = commands.add_parser("info", help="the config fields of an implementation")
    info.add_argument("name", help="implementation name (or distribution:name)")

    check = commands.add_parser("check", help="validate YAML, JSON or TOML config files")
    check.add_argument("files", nargs="+", metavar="FILE")

    run = commands.add_parser("run", help="build the module a config file describes and run it on synthetic inputs")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--queries", type=int, help="override the size of every query group")

    doctor = commands.add_parser(
        "doctor", help="check every installed plugin: config imports without torch, module builds and runs"
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable output")

    bench = commands.add_parser("bench", help="compare implementations on the same shapes")
    bench.add_argument("names", nargs="+", metavar="NAME", help="implementations to compare")
    bench.add_argument("--tokens", type=int, default=4096)
    bench.add_argument("--hidden-dim", type=int, default=192)
    bench.add_argument("--num-heads", type=int, default=3)
    bench.add_argument("--batch-size", type=int, default=1)
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="extra config option for every implementation (YAML value), repeatable")  # fmt: skip
    bench.add_argument("--plot", metavar="FILE", help="also save a bar chart (needs matplotlib)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            from noether.cli.listing import run_list

            return run_list(args)
        if args.command == "info":
            from noether.cli.info import run_info

            return run_info(args)
        if args.command == "check":
            from noether.cli.check import run_check

            return run_check(args)
        if args.command == "run":
            from noether.cli.run import run_file

            return run_file(args)
        if args.command == "doctor":
            from noether.cli.doctor import run_doctor

            return run_doctor(args)
        from noether.cli.bench import run_bench

        return run_bench(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = str(exc).strip().replace("\n", " | ") or type(exc).__name__
        print(f"noether-attention {args.command}: error: {message}", file=sys.stderr)
        return 1
