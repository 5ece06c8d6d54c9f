"""Query points split across processes (``torch.distributed``, e.g. under ``torchrun``).

A query's output depends on the anchors only, so every rank holds the model and
its own KV cache of the anchors, streams a contiguous share of the query points,
and the shares are gathered where the caller asks: on every rank (``"all"``),
on rank 0 (``"rank0"``; the others get nothing), or not at all (``"none"``: each
rank keeps its share, e.g. to write it to a file of its own).

A rank that fails must not leave the others waiting in a collective: the local
work runs inside :func:`together`, which compares notes after it and raises on
every rank if any failed, naming the ranks and their errors.
:func:`process_group` starts and ends a group so that no rank exits mid-collective.
"""

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import torch
import torch.distributed as dist

Gather = Literal["all", "rank0", "none"]
GATHER: tuple[Gather, ...] = ("all", "rank0", "none")


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 without an initialised process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def share(points: int, rank: int, world: int) -> tuple[int, int]:
    """(start, stop) of ``rank``'s contiguous share of ``points``; shares differ by at most one point."""
    base, extra = divmod(points, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def check_gather(gather: str) -> None:
    if gather not in GATHER:
        raise ValueError(f"gather must be one of {', '.join(map(repr, GATHER))}, got {gather!r}")


def check_shares(owner: str, points: dict[str, int], world: int) -> None:
    """Every rank gets at least one point of every group (checked alike on every rank, before any collective)."""
    few = {group: count for group, count in points.items() if count < world}
    if few:
        raise ValueError(f"{owner}: query groups {few} have fewer points than the {world} ranks that split them")


@contextlib.contextmanager
def process_group(backend: str = "gloo", **options: Any) -> Iterator[tuple[int, int]]:
    """A process group (``dist.init_process_group(backend, **options)``) for the body; yields (rank, world size).

    A body that ends normally meets the other ranks at a barrier before the group is
    destroyed: gloo's worker threads release a collective's tensors after its waiter
    has woken, and a process that is already shutting down then aborts
    ("terminate called without an active exception").
    """
    dist.init_process_group(backend, **options)
    try:
        yield rank_and_world()
        dist.barrier()
    finally:
        dist.destroy_process_group()


@contextlib.contextmanager
def together(what: str) -> Iterator[None]:
    """Run the body on every rank, then raise on every rank if it failed on any (instead of hanging)."""
    error: BaseException | None = None
    try:
        yield
    except Exception as exc:  # reported to every rank below; KeyboardInterrupt stops this rank at once
        error = exc
    world = rank_and_world()[1]
    if world == 1:
        if error is not None:
            raise error
        return
    notes: list[str | None] = [None] * world
    dist.all_gather_object(notes, None if error is None else f"{type(error).__name__}: {error}")
    failed = {r: note for r, note in enumerate(notes) if note is not None}
    if failed:
        ranks = ", ".join(map(str, failed))
        details = "; ".join(f"rank {r}: {note}" for r, note in failed.items())
        raise RuntimeError(f"{what} failed on rank {ranks} of {world}: {details}") from error


def gather_points(local: torch.Tensor, points: int, gather: Gather) -> torch.Tensor | None:
    """Every rank's share of (batch, points, ...) along axis 1, put together as ``gather`` says.

    ``local`` is this rank's share (see :func:`share`). Returns the whole tensor
    (``"all"``, and ``"rank0"`` on rank 0), None on the other ranks for
    ``"rank0"``, and ``local`` itself for ``"none"`` or a single process.
    """
    rank, world = rank_and_world()
    if world == 1 or gather == "none":
        return local
    longest = share(points, 0, world)[1]  # rank 0's share is the longest: collectives need equal shapes
    padded = local.new_zeros(local.shape[0], longest, *local.shape[2:])
    padded[:, : local.shape[1]] = local
    buffer = local.new_empty(world, *padded.shape)
    parts = list(buffer.unbind(0))
    if gather == "all":
        dist.all_gather(parts, padded)
    else:
        dist.gather(padded, parts if rank == 0 else None, dst=0)
        if rank != 0:
            return None
    sizes = [stop - start for start, stop in (share(points, r, world) for r in range(world))]
    return torch.cat([part[:, :size] for part, size in zip(parts, sizes, strict=True)], dim=1)


def run_split(
    owner: str,
    points: Mapping[str, int],
    run: Callable[[dict[str, tuple[int, int]]], dict[str, torch.Tensor]],
    group_of: Callable[[str], str | None],
    gather: Gather,
) -> dict[str, torch.Tensor]:
    """``run`` this rank's share of every query group, then put its outputs together as ``gather`` says.

    ``points``: query group -> its point count. ``run(bounds)`` gets each group's
    (start, stop) on this rank and returns named outputs; ``group_of(name)`` says
    which group an output's points are (None: the same on every rank, kept as is).
    """
    rank, world = rank_and_world()
    check_gather(gather)
    check_shares(owner, dict(points), world)
    with together(owner):
        local = run({group: share(count, rank, world) for group, count in points.items()})
    out = {}
    for name, value in local.items():
        group = group_of(name)
        whole = value if group is None else gather_points(value, points[group], gather)
        if whole is not None:
            out[name] = whole
    return out
