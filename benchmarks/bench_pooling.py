"""Supernode pooling (radius 0.05, at most 32 neighbours, hidden 192) on a random cloud in the unit
cube, one supernode per 8 points: our block-wise neighbour search against the brute-force one that
computes every supernode x point distance at once (1.x's pure-torch search), in the same run.

Both give the same edges (checked) and so the same output. Reported: median time of paired,
alternating rounds and their ratio, and the peak of live tensor memory of one forward each
(profiled; the CPU analogue of ``torch.cuda.max_memory_allocated``).

Run: python benchmarks/bench_pooling.py [--points 16384 131072] [--rounds N] [--device cpu|cuda]
"""

import argparse
import statistics
import time
from unittest import mock

import torch

from noether.cli.measure import human_bytes, tensor_peak
from noether.modeling.functional import geometric
from noether.modeling.modules import SupernodePooling
from noether.modeling.modules.encoders.supernode_pooling import module as pooling


def brute_force_radius(x, y, r, max_num_neighbors=None, batch_x=None, batch_y=None, **_):
    """Every distance at once (batch ignored: one sample), lowest-index neighbours kept when capped."""
    within = torch.cdist(y, x, compute_mode="donot_use_mm_for_euclid_dist") <= r
    row, col = within.nonzero(as_tuple=True)
    _, counts = torch.unique_consecutive(row, return_counts=True)
    starts = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    keep = torch.arange(row.numel(), device=row.device) - starts < max_num_neighbors
    return torch.stack([row[keep], col[keep]])


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, nargs="+", default=[16384, 131072])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    module = SupernodePooling({"hidden_dim": 192, "input_dim": 3, "radius": 0.05, "max_degree": 32}).eval()
    module.to(args.device)
    ours = geometric.radius
    for points in args.points:
        pos = torch.rand(points, 3, device=args.device)
        supernodes = torch.randperm(points, device=args.device)[: points // 8]

        def pool(search, pos=pos, supernodes=supernodes):
            with mock.patch.object(pooling, "radius", search), torch.no_grad():
                return module(pos, supernodes)

        same = torch.equal(ours(pos, pos[supernodes], 0.05, 32), brute_force_radius(pos, pos[supernodes], 0.05, 32))
        ratios, times = [], {"ours": [], "brute": []}
        for i in range(args.rounds):
            order = ("ours", "brute") if i % 2 == 0 else ("brute", "ours")
            took = {name: timed(lambda n=name: pool(ours if n == "ours" else brute_force_radius)) for name in order}
            ratios.append(took["ours"] / took["brute"])
            for name in took:
                times[name].append(took[name])
        peaks = {name: tensor_peak(lambda s=search: pool(s)) for name, search in
                 (("ours", ours), ("brute", brute_force_radius))}  # fmt: skip
        print(f"{points:,} points, {points // 8:,} supernodes (same edges: {same}):")
        ours_s, brute_s, ratio = (
            statistics.median(times["ours"]),
            statistics.median(times["brute"]),
            statistics.median(ratios),
        )
        print(f"  time: ours {ours_s:.3f} s, brute force {brute_s:.3f} s, ratio {ratio:.2f}x (median of paired rounds)")
        print(f"  peak live tensors: ours {human_bytes(peaks['ours'])}, brute force {human_bytes(peaks['brute'])} "
              f"({peaks['brute'] / peaks['ours']:.1f}x ours)")  # fmt: skip


if __name__ == "__main__":
    main()
