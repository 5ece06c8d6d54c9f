"""Supernode pooling (radius 0.05, at most 32 neighbours, hidden 192) on a random cloud in the unit
cube, one supernode per 8 points: our block-wise neighbour search against two brute-force ones, in
the same run: every supernode x point distance at once (1.x's pure-torch search), and the whole
points x points radius graph (where it fits in --memory-limit).

All give the same edges (checked) and so the same output. Reported: median time of paired,
alternating rounds and their ratio, and the peak of live tensor memory of one forward each
(profiled; the CPU analogue of ``torch.cuda.max_memory_allocated``).

Run: python benchmarks/bench_pooling.py [--points 16384 131072] [--rounds N] [--device cpu|cuda]
"""

import argparse
import statistics
import time
from unittest import mock

import torch
from _paired import recorded

from noether.cli.measure import human_bytes, tensor_peak
from noether.modeling.functional import geometric
from noether.modeling.modules import SupernodePooling
from noether.modeling.modules.encoders.supernode_pooling import module as pooling


def capped_edges(within: torch.Tensor, max_num_neighbors: int) -> torch.Tensor:
    """Edges of a (supernodes, points) bool matrix, keeping each row's lowest-index neighbours."""
    row, col = within.nonzero(as_tuple=True)
    _, counts = torch.unique_consecutive(row, return_counts=True)
    starts = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    keep = torch.arange(row.numel(), device=row.device) - starts < max_num_neighbors
    return torch.stack([row[keep], col[keep]])


def supernodes_x_points(x, y, r, max_num_neighbors, *_, **__):
    """Every supernode x point distance at once (1.x's pure-torch search; one sample)."""
    return capped_edges(torch.cdist(y, x, compute_mode="donot_use_mm_for_euclid_dist") <= r, max_num_neighbors)


def points_x_points(supernodes):
    """The whole radius graph (every point x point distance), then the supernodes' rows."""

    def search(x, y, r, max_num_neighbors, *_, **__):
        within = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist") <= r
        return capped_edges(within[supernodes], max_num_neighbors)

    return search


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, nargs="+", default=[16384, 131072])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--memory-limit", type=int, default=12 * 2**30, help="bytes a baseline may need")
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

        baselines = {"supernodes x points": supernodes_x_points, "points x points": points_x_points(supernodes)}
        if points * points * 5 > args.memory_limit:  # float distances and a bool mask
            del baselines["points x points"]
            print(
                f"{points:,} points: points x points needs {human_bytes(points * points * 5)}, over the limit; skipped"
            )
        print(f"{points:,} points, {points // 8:,} supernodes:")
        for name, baseline in baselines.items():
            same = torch.equal(ours(pos, pos[supernodes], 0.05, 32), baseline(pos, pos[supernodes], 0.05, 32))
            ratios, times = [], {"ours": [], "base": []}
            for i in range(args.rounds):
                order = ("ours", "base") if i % 2 == 0 else ("base", "ours")
                took = {n: timed(lambda n=n, b=baseline: pool(ours if n == "ours" else b)) for n in order}
                ratios.append(took["ours"] / took["base"])
                for n in took:
                    times[n].append(took[n])
            peaks = {"ours": tensor_peak(lambda: pool(ours)), "base": tensor_peak(lambda b=baseline: pool(b))}
            ours_s, base_s = statistics.median(times["ours"]), statistics.median(times["base"])
            print(f"  vs {name} (same edges: {same}): time ours {ours_s:.3f} s, {name} {base_s:.3f} s, "
                  f"ratio {statistics.median(ratios):.2f}x (median of paired rounds); peak live tensors ours "
                  f"{human_bytes(peaks['ours'])}, {name} {human_bytes(peaks['base'])}")  # fmt: skip


if __name__ == "__main__":
    with recorded("Supernode pooling"):
        main()
