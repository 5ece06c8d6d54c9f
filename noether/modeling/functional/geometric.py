"""Neighbour search for point clouds (radius and k nearest), in pure torch and bounded memory.

Distances are computed for a block of query points at a time, so memory grows
with ``block x points`` plus the edges found, never with ``points x points``.
Within a query point, neighbours come in ascending index order (radius) or by
distance (kNN); with ``max_num_neighbors``, the lowest-index points within the
radius are kept. This is emmiai-noether 1.x's pure-torch choice, so edges match
it exactly; results are deterministic on every device.
"""

from collections.abc import Callable

import torch

from noether.modeling.contract import InputError

DISTANCE_BUDGET = 1 << 24
"""Distances (query x point pairs) computed at once: the block size is this over the point count."""


def _search(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_x: torch.Tensor | None,
    batch_y: torch.Tensor | None,
    block_size: int | None,
    edges: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    """Edge index (2, E) of ``edges`` (block distances -> rows, columns) over blocks of ``y``."""
    _check(x, y, batch_x, batch_y)
    step = block_size or max(1, DISTANCE_BUDGET // max(1, x.shape[0]))
    rows, cols = (
        [torch.empty(0, dtype=torch.long, device=x.device)],
        [torch.empty(0, dtype=torch.long, device=x.device)],
    )
    for start in range(0, y.shape[0], step):
        row, col = edges(_distances(x, y, start, min(start + step, y.shape[0]), batch_x, batch_y))
        rows.append(row + start)
        cols.append(col)
    return torch.stack([torch.cat(rows), torch.cat(cols)])


def _distances(
    x: torch.Tensor,
    y: torch.Tensor,
    start: int,
    stop: int,
    batch_x: torch.Tensor | None,
    batch_y: torch.Tensor | None,
) -> torch.Tensor:
    """Euclidean distances of ``y[start:stop]`` to every ``x``; +inf across samples of a batch."""
    # The direct mode avoids the matmul form's cancellation for nearby points.
    dist = torch.cdist(y[start:stop], x, compute_mode="donot_use_mm_for_euclid_dist")
    if batch_x is not None and batch_y is not None:
        dist = dist.masked_fill(batch_y[start:stop, None] != batch_x[None, :], float("inf"))
    return dist


def _check(x: torch.Tensor, y: torch.Tensor, batch_x: torch.Tensor | None, batch_y: torch.Tensor | None) -> None:
    if not (x.is_floating_point() and y.is_floating_point()):
        raise InputError(f"neighbour search needs floating point positions, got {x.dtype} and {y.dtype}")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise InputError(f"positions must be (points, dims) with equal dims, got {tuple(x.shape)} and {tuple(y.shape)}")
    if (batch_x is None) != (batch_y is None):
        raise InputError("give batch indices for both x and y, or for neither")
    for name, batch, points in (("batch_x", batch_x, x), ("batch_y", batch_y, y)):
        if batch is not None and batch.shape != points.shape[:1]:
            raise InputError(f"{name} must have one entry per point ({points.shape[0]}), got {tuple(batch.shape)}")


def radius(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float,
    max_num_neighbors: int | None = None,
    batch_x: torch.Tensor | None = None,
    batch_y: torch.Tensor | None = None,
    *,
    block_size: int | None = None,
) -> torch.Tensor:
    """Edges (2, E) from each query ``y[i]`` (row 0) to the points ``x[j]`` (row 1) within distance ``r``."""

    def within(dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        row, col = (dist <= r).nonzero(as_tuple=True)
        if max_num_neighbors is not None:  # rows come sorted: rank each edge within its row
            _, counts = torch.unique_consecutive(row, return_counts=True)
            rank = torch.arange(row.numel(), device=row.device) - (counts.cumsum(0) - counts).repeat_interleave(counts)
            keep = rank < max_num_neighbors
            row, col = row[keep], col[keep]
        return row, col

    return _search(x, y, batch_x, batch_y, block_size, within)


def knn(
    x: torch.Tensor,
    y: torch.Tensor,
    k: int,
    batch_x: torch.Tensor | None = None,
    batch_y: torch.Tensor | None = None,
    *,
    block_size: int | None = None,
) -> torch.Tensor:
    """Edges (2, E) from each query ``y[i]`` to its ``k`` nearest points of ``x`` (fewer if its sample has fewer)."""

    def nearest(dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dist, idx = dist.topk(min(k, x.shape[0]), dim=1, largest=False)
        row, slot = torch.isfinite(dist).nonzero(as_tuple=True)
        return row, idx[row, slot]

    return _search(x, y, batch_x, batch_y, block_size, nearest)
