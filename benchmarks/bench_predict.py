"""``predict``'s pipeline on many points, and reduced precision against float32.

python benchmarks/bench_predict.py [--points 1000000 10000000] [--dtype-points 65536] [--device cpu]

The README's main example model (examples/ab_upt.yaml, seeded random weights) on a synthetic
car: 100,000 surface points and N volume points, every one a query, streamed in chunks of
the example's size; the volume fields are then written as predictions.npz and volume.vtu, as
``predict`` does. Each size runs in a fresh process, so its peak resident memory is its own.
The precision rows run every dtype on the same inputs and give, per field, the largest
difference to float32 relative to the field's largest float32 magnitude.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml
from _paired import record

from noether.cli.measure import human_bytes, measured
from noether.cli.predict import BRANCHES, Inputs, fields_of, model_inputs, write_outputs
from noether.io.mesh import Mesh
from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.synthetic import car_surface, car_volume

EXAMPLE = Path(__file__).parents[1] / "examples" / "ab_upt.yaml"
SURFACE_POINTS = 100_000
NARROW, NARROW_ANCHORS = 48, 1024


def example(width: int | None = None) -> tuple[AnchoredBranchedUPT, int]:
    """The example's model; ``width``: the same blocks at another hidden width (3 heads), for sizes where the
    example's own would take hours here (memory does not depend on the width of what streams through)."""
    document = yaml.safe_load(EXAMPLE.read_text())
    torch.manual_seed(0)
    config = {k: v for k, v in document.items() if k not in ("model", "points", "run")}
    if width is not None:
        config["hidden_dim"] = config["transformer_block_config"]["hidden_dim"] = width
        config["supernode_pooling_config"]["hidden_dim"] = width
    return AnchoredBranchedUPT(config).eval(), document["run"]["chunk_size"]


def options(volume: int, chunk: int, dtype: str, device: str, output: str, anchors: int = 4096) -> argparse.Namespace:
    return argparse.Namespace(
        seed=0, geometry_points=16384, supernodes=2048, anchors=anchors, chunk_size=chunk, device=device, dtype=dtype,
        condition=["inflow_velocity=0.5", "yaw=0.1"], no_progress=True, output=output, volume_at="points",
        plot=False, volume=volume,
    )  # fmt: skip


def inputs(volume: int) -> Inputs:
    g = torch.Generator().manual_seed(1)
    surface = Mesh(car_surface(SURFACE_POINTS, g).double().numpy())
    return Inputs(surface, surface, car_volume(volume, g).double().numpy(), None, None)


def predict(model: AnchoredBranchedUPT, data: Inputs, args: argparse.Namespace) -> dict[str, dict[str, np.ndarray]]:
    given, _ = model_inputs(model, data, args, torch)
    dtype = getattr(torch, args.dtype)
    autocast = torch.autocast(torch.device(args.device).type, dtype=dtype, enabled=args.dtype != "float32")
    with torch.no_grad(), autocast:
        out = model.stream(**given, chunk_size=args.chunk_size, progress=False)
    return {b: fields_of(out, b, None) for b in BRANCHES}


def worker(volume: int, device: str, width: int | None) -> dict[str, float]:
    """One size in this process: time and peak memory of drawing, streaming and writing."""
    model, chunk = example(width)
    model.to(device)
    data = inputs(volume)
    with tempfile.TemporaryDirectory() as tmp, measured() as m:
        args = options(volume, chunk, "float32", device, tmp, 4096 if width is None else NARROW_ANCHORS)
        fields = predict(model, data, args)
        write_outputs(args, data, fields)
    arrays = (data.volume_points, data.surface.points, *fields["surface"].values(), *fields["volume"].values())
    return {"seconds": m["seconds"], "peak_growth": m["peak_growth"], "points": volume + SURFACE_POINTS,
            "inputs_and_outputs": sum(a.nbytes for a in arrays if a is not None)}  # fmt: skip


def precision(points: int, device: str) -> list[str]:
    model, chunk = example()
    model.to(device)
    data = inputs(points)
    results, seconds = {}, {}
    for dtype in ("float32", "bfloat16", "float16"):
        with measured() as m:
            results[dtype] = predict(model, data, options(points, chunk, dtype, device, ""))
        seconds[dtype] = m["seconds"]
    rows, base = [], results["float32"]
    for dtype in ("bfloat16", "float16"):
        diffs = []
        for branch in BRANCHES:
            for name, ref in base[branch].items():
                worst = np.abs(results[dtype][branch][name] - ref).max() / max(np.abs(ref).max(), 1e-12)
                diffs.append(f"{branch} {name} {worst:.2%}")
        speed = seconds["float32"] / seconds[dtype]
        rows.append(f"| {dtype} autocast vs float32, {points + SURFACE_POINTS:,} points | {speed:.2f}x the float32 "
                    f"throughput | {'; '.join(diffs)} |")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="*", default=[1_000_000], help="volume points, the example")
    parser.add_argument("--narrow-points", type=int, nargs="*", default=[1_000_000, 10_000_000],
                        help="volume points, the example's blocks at hidden width 48, 1,024 anchors")  # fmt: skip
    parser.add_argument("--dtype-points", type=int, default=65_536, help="volume points of the precision rows")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.device, args.width)))
        return
    rows: list[str] = []
    section, command = f"Predict: the main example on many points ({args.device})", "python benchmarks/bench_predict.py"

    def add(row: str) -> None:  # recorded as it comes: a long run that is stopped keeps what it measured
        print(row, flush=True)
        rows.append(row)
        record(section, command, "| case | throughput | memory, or largest field difference |", rows)

    for row in precision(args.dtype_points, args.device):
        add(row)
    for volume, width in [*((v, None) for v in args.points), *((v, NARROW) for v in args.narrow_points)]:
        worker_command = [sys.executable, __file__, "--worker", str(volume), "--device", args.device]
        run = subprocess.run([*worker_command, *(("--width", str(width)) if width else ())],
                             capture_output=True, text=True, check=True)  # fmt: skip
        result = json.loads(run.stdout.strip().splitlines()[-1])
        model = "the example" if width is None else f"hidden {width}, {NARROW_ANCHORS:,} anchors per branch"
        rate = result["points"] / result["seconds"]
        add(f"| {model}, {result['points']:,} points ({volume:,} volume) | {rate:,.0f} points/s, "
            f"{result['seconds']:,.0f} s | peak memory growth {human_bytes(result['peak_growth'])}; the points and "
            f"fields themselves {human_bytes(result['inputs_and_outputs'])} |")  # fmt: skip


if __name__ == "__main__":
    main()
