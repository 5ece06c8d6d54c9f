"""noether-attention (also python -m noether): list, inspect, check, run and compare attention; predict on meshes.

Each subcommand imports only what it needs: list reads installed metadata and never
imports torch or plugin code. Errors print to stderr and exit 1; --debug (before or
after the subcommand) shows the traceback.
"""

import argparse
import os
import sys
from collections.abc import Sequence

from noether import __version__

DTYPES = ("float32", "bfloat16", "float16")
COMPILE_HELP = (
    "compile the query chunks with torch.compile (inductor, or the BACKEND named): a one-time cost, reported "
    "on its own, for faster chunks; the anchors run eager"
)
"""What ``predict --dtype`` runs in: float32, or autocast to a lower precision."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    defaults = argparse.ArgumentDefaultsHelpFormatter
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="noether-attention", description=(__doc__ or "").strip(), formatter_class=defaults, parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, formatter_class=defaults, parents=[common])

    listing = command("list", "every implementation: source, config class, status (no torch, no plugin code)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    info = command("info", "the config fields of an implementation: type, default, description")
    info.add_argument("name", metavar="NAME", help="implementation name, or DISTRIBUTION:NAME")

    check = command("check", "validate YAML, JSON or TOML config files; every problem of every file")
    check.add_argument("files", nargs="+", metavar="FILE", help="config files (attention configs or block stacks)")

    run = command("run", "build the module a config file describes and run it on synthetic inputs")
    run.add_argument("file", metavar="FILE", help="a config file (attention config or block stack)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument(
        "--queries", type=_positive, metavar="N", help="tokens of every query group (anchors keep the file's sizes)"
    )
    run.add_argument(
        "--output",
        metavar="FILE",
        help="write a model's predictions: FILE.npz or FILE.pt; under torchrun, a FILE with {rank} "
        "gets each process's share of the query points, else rank 0 writes them all",
    )
    run.add_argument(
        "--checkpoint", metavar="FILE", help="run a model file with this checkpoint's weights (else they are random)"
    )
    run.add_argument("--compile", nargs="?", const=True, default=False, metavar="BACKEND", help=COMPILE_HELP)

    predict = command("predict", "a trained AB-UPT on your mesh files: fields on every point, VTU for ParaView")
    predict.add_argument("checkpoint", metavar="CHECKPOINT", help="an AB-UPT checkpoint (1.x's *_model.th or ours)")
    predict.add_argument("--geometry", required=True, metavar="MESH",
                        help="the car's surface mesh (.stl .obj .ply .vtp .vtk .vtu): the geometry input")  # fmt: skip
    predict.add_argument("--surface", metavar="MESH", help="the surface to predict on (default: --geometry)")
    predict.add_argument("--volume", metavar="FILE", help="volume points: .vtu/.vtk mesh or .npy/.npz/.pt array")
    predict.add_argument("--volume-at", choices=("points", "cells"), default="points",
                        help="predict at a volume mesh's points or its cell centres")  # fmt: skip
    predict.add_argument("--normalizers", metavar="FILE", help="YAML/JSON: the positions' and fields' normalisers")
    predict.add_argument("--output", required=True, metavar="DIR", help="folder for surface.vtu, volume.vtu, ...")
    predict.add_argument("--plot", action="store_true", help="also render surface.png (needs matplotlib)")
    predict.add_argument("--condition", action="append", default=[], metavar="NAME=VALUE",
                        help="a conditioning scalar of the model, e.g. inflow_velocity=38.9; repeatable")  # fmt: skip
    predict.add_argument("--geometry-points", type=_positive, default=16384, metavar="N",
                        help="geometry points drawn from the mesh for the geometry encoder")  # fmt: skip
    predict.add_argument("--supernodes", type=_positive, default=2048, metavar="N", help="supernodes among them")
    predict.add_argument("--anchors", type=_positive, default=4096, metavar="N", help="anchor points per branch")
    predict.add_argument("--chunk-size", type=_positive, default=4096, metavar="N", help="query points per chunk")
    predict.add_argument("--seed", type=int, default=0, help="seed of the drawn anchors, supernodes and points")
    predict.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    predict.add_argument("--dtype", default="float32", choices=DTYPES, help="float32, or autocast to a lower one")
    predict.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    predict.add_argument("--compile", nargs="?", const=True, default=False, metavar="BACKEND", help=COMPILE_HELP)

    doctor = command("doctor", "check every installed plugin: config imports without torch, module builds and runs")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")

    bench = command("bench", "compare implementations on the same inputs")
    bench.add_argument("names", nargs="+", metavar="NAME", help="implementations to compare")
    bench.add_argument("--tokens", type=_positive, default=4096, help="tokens per input (per token group)")
    bench.add_argument("--hidden-dim", type=_positive, default=192, help="token width")
    bench.add_argument("--num-heads", type=_positive, default=3, help="attention heads")
    bench.add_argument("--batch-size", type=_positive, default=1, help="samples per forward")
    bench.add_argument("--repeats", type=_positive, default=3, help="timed forwards per implementation (median)")
    bench.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="a config option for implementations that have it (YAML value); repeatable")  # fmt: skip
    bench.add_argument("--plot", metavar="FILE", help="also save a bar chart (needs matplotlib)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        status = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if debug:
            raise
        message = str(exc).strip() or type(exc).__name__
        print(f"noether-attention {args.command}: error: {message}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
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
    if args.command == "predict":
        from noether.cli.predict import predict

        return predict(args)
    if args.command == "doctor":
        from noether.cli.doctor import run_doctor

        return run_doctor(args)
    from noether.cli.bench import run_bench

    return run_bench(args)
