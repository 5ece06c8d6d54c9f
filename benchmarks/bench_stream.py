"""The main example's streamed phase against the machine's limit: eager, compiled, chunk sizes, bfloat16.

python benchmarks/bench_stream.py [--points 32768] [--chunks 4096 16384] [--rounds 3] [--device cpu]

The README's AB-UPT example (examples/ab_upt.yaml, seeded random weights) on a synthetic car; ``points``
query points per branch stream after the geometry and anchors. Printed, in one run:

- the machine's float32 matmul rate (``torch.mm`` of 4096 x 4096 matrices, best of 5);
- the FLOPs of one query point, counted by ``torch.utils.flop_counter`` as the difference between
  streams of two sizes (so the geometry and anchors cancel; CPU SDPA is counted as 4 * keys * head_dim
  per query and head);
- per chunk size, eager and compiled (inductor), interleaved round by round: query points per second
  of the streamed phase (the first chunk of each branch is left out: it holds the compilation) and
  actual/limit, the time taken over the time the FLOPs need at the matmul rate;
- bfloat16 autocast against float32 (eager and compiled): throughput and the largest difference of
  each field, relative to that field's largest float32 magnitude.
"""

import argparse
import contextlib
import itertools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from _paired import record
from torch.utils import flop_counter

from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.synthetic import car_surface, car_volume

EXAMPLE = Path(__file__).parents[1] / "examples" / "ab_upt.yaml"
LIMITS = {"eager": 1.3, "compiled": 1.2}


@flop_counter.register_flop_formula(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu, get_raw=True)
def _cpu_sdpa(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, *args: Any, **kwargs: Any) -> int:
    return int(flop_counter.sdpa_flop_count(query.shape, key.shape, value.shape))


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(device: str, size: int = 4096) -> float:
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(5):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def example(device: str) -> tuple[AnchoredBranchedUPT, dict[str, Any]]:
    document = yaml.safe_load(EXAMPLE.read_text())
    torch.manual_seed(0)
    model = AnchoredBranchedUPT({k: v for k, v in document.items() if k not in ("model", "points", "run")})
    return model.eval().to(device), document["points"]


def inputs(counts: dict[str, int], queries: int, device: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    data = {
        "geometry_position": car_surface(counts["geometry"], g),
        "geometry_supernode_idx": torch.arange(counts["supernodes"]),
        "geometry_batch_idx": torch.zeros(counts["geometry"], dtype=torch.long),
        "surface_anchor_position": car_surface(counts["surface_anchors"], g)[None],
        "volume_anchor_position": car_volume(counts["volume_anchors"], g)[None],
        "inflow_design_parameters": torch.tensor([[0.5, 0.1]]),
        "query_surface_position": car_surface(queries, g)[None],
        "query_volume_position": car_volume(queries, g)[None],
    }
    return {name: value.to(device) for name, value in data.items()}


def flops_per_point(model: AnchoredBranchedUPT, counts: dict[str, int], device: str, chunk: int) -> float:
    totals = []
    for queries in (chunk, 2 * chunk):
        with flop_counter.FlopCounterMode(display=False) as counter:
            model.stream(**inputs(counts, queries, device), chunk_size=chunk, progress=False)
        totals.append(counter.get_total_flops())
    return (totals[1] - totals[0]) / (2 * chunk)  # two branches


def streamed(
    model: AnchoredBranchedUPT, data: dict[str, torch.Tensor], chunk: int, compile: bool, device: str, dtype: str
) -> tuple[float, dict[str, torch.Tensor]]:
    """Seconds per query point of the streamed phase (the first chunk of each branch left out), and the outputs."""
    marks: list[tuple[str, float]] = []

    def mark(branch: str, _start: int, _out: torch.Tensor) -> None:
        synchronize(device)
        marks.append((branch, time.perf_counter()))

    autocast = (torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if dtype == "bfloat16"
                else contextlib.nullcontext())  # fmt: skip
    with autocast:
        out = model.stream(**data, chunk_size=chunk, compile=compile, on_chunk=mark, progress=False)
    steady = [b[1] - a[1] for a, b in itertools.pairwise(marks) if a[0] == b[0]]
    return statistics.median(steady) / chunk, out


def field_differences(out: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per query field: the largest difference relative to the field's largest reference magnitude."""
    return {
        name.removeprefix("query_").replace("_", " "): float(
            (out[name].float() - ref).abs().max() / ref.abs().max().clamp_min(1e-12)
        )
        for name, ref in reference.items()
        if name.startswith("query_")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=32_768, help="query points per branch")
    parser.add_argument("--chunks", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if any(args.points < 2 * chunk or args.points % chunk for chunk in args.chunks):
        parser.error("--points must be a multiple of every --chunks size, at least two chunks (the first is not timed)")
    device = args.device
    model, counts = example(device)
    rate = matmul_rate(device)
    flops = flops_per_point(model, counts, device, min(args.chunks))
    limit = flops / rate  # seconds per point at the matmul rate
    rows = [f"| float32 matmul rate | {rate / 1e9:,.0f} GFLOP/s | | |",
            f"| FLOPs per query point (counted) | {flops / 1e6:,.2f} MFLOP | at the matmul rate: "
            f"{1 / limit:,.0f} points/s | |"]  # fmt: skip
    for row in rows:
        print(row, flush=True)
    data = inputs(counts, args.points, device)
    cases: dict[str, Callable[[], tuple[float, dict[str, torch.Tensor]]]] = {}
    for chunk in args.chunks:
        for mode in ("eager", "compiled"):
            cases[f"{mode}, chunk {chunk:,}"] = lambda chunk=chunk, mode=mode: streamed(
                model, data, chunk, mode == "compiled", device, "float32"
            )
    best = min(args.chunks)
    for mode in ("eager", "compiled"):
        cases[f"{mode}, chunk {best:,}, bfloat16 autocast"] = lambda mode=mode: streamed(
            model, data, best, mode == "compiled", device, "bfloat16"
        )
    for case in cases.values():  # compiles every graph once, before any timing
        case()
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    outputs: dict[str, dict[str, torch.Tensor]] = {}
    for round_ in range(args.rounds):
        order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
        for name in order:
            per_point, outputs[name] = cases[name]()
            seconds[name].append(per_point)
    reference = outputs[f"eager, chunk {best:,}"]
    for name in cases:
        per_point = statistics.median(seconds[name])
        ratio = per_point / limit
        mode = name.split(",")[0]
        differences = field_differences(outputs[name], reference)
        if "bfloat16" in name:
            detail = "; ".join(f"{field} {d:.2%}" for field, d in differences.items())
            target = ""
        else:
            worst = max(differences.values())
            detail = f"largest field difference to eager float32 {worst:.1e}"
            ok = ratio <= LIMITS[mode] and worst <= 1e-5
            target = f"<= {LIMITS[mode]}x, <= 1e-5 {'ok' if ok else 'MISSED'}"
        rows.append(f"| {name} | {1 / per_point:,.0f} points/s | actual/limit {ratio:.2f}x; {detail} | {target} |")
        print(rows[-1], flush=True)
    section = f"Streaming: the main example against the machine's limit ({device})"
    record(section, f"python benchmarks/bench_stream.py --device {device}", "| case | figure | detail | target |", rows)


if __name__ == "__main__":
    main()
