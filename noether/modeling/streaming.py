"""Streaming inference: anchors once into a KV cache, then query points in chunks.

In anchor attention, queries attend only to anchors, so a query's output does
not depend on the other queries. ``stream_queries`` runs the anchor tokens
through every layer with a shared ``KVCache``, then pushes the query points
through all layers chunk by chunk, each chunk reading the anchors' keys/values
from the cache. Memory stays flat in the number of queries (one chunk's
activations plus the cache) and the outputs equal a one-shot forward.

Layers that can prefill the cache (``prefill_kv``, as transformer blocks with
anchor attention can) also take the anchors in chunks: per layer, the keys and
values of all anchors are cached first, then anchor chunks attend to them. The
peak is then the cache plus one chunk's activations, whatever the anchor count.
"""

import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, cast

import torch
from torch import nn

from noether.modeling.contract import InputError, capabilities
from noether.modeling.distributed import Gather, check_gather, rank_and_world, run_split
from noether.modeling.functional.rope import Freqs, token_slice
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.attention.mixed.layout import Group, TokenSpecs, as_token_specs

Layers = nn.Module | Sequence[nn.Module]
OnChunk = Callable[[str, int, torch.Tensor], None]
"""Called after each chunk: (group, the chunk's first position in its group, the chunk's output)."""
Compile = bool | str
"""``compile`` of streaming: False (eager), True (``torch.compile``'s default backend, inductor) or a backend name."""


def check_chunk_size(chunk_size: int, name: str = "chunk_size") -> None:
    if chunk_size < 1:
        raise InputError(f"{name} must be at least 1, got {chunk_size}")


def layer_list(layers: Layers) -> list[nn.Module]:
    """The layers run in turn: an iterable's (sequence, ``ModuleList``, ``TransformerStack``), else the module."""
    return list(layers) if isinstance(layers, Iterable) else [layers]


def run_layers(
    layers: Sequence[nn.Module],
    x: torch.Tensor,
    specs: Sequence[Group],
    kv_cache: KVCache,
    **kwargs: Freqs | None,
) -> torch.Tensor:
    """``x`` through ``layers``; each takes ``(x, token_specs=..., kv_cache=..., **kwargs)``, None kwargs left out."""
    given = {name: value for name, value in kwargs.items() if value is not None}
    for layer in layers:
        x = layer(x, token_specs=specs, kv_cache=kv_cache, **given)
    return x


class PrefillLayer(Protocol):
    """A layer that caches its keys/values of ``x`` without running (``TransformerBlock``, anchor attention).

    Returns, per group, the name under which chunks of that group's tokens then
    attend to the cache as the group does.
    """

    def prefill_kv(
        self,
        x: torch.Tensor,
        *,
        token_specs: Sequence[Group],
        kv_cache: KVCache,
        chunk_size: int | None,
        **kwargs: Any,
    ) -> dict[str, str]: ...


def can_prefill(layer: nn.Module) -> bool:
    return capabilities(layer).can_prefill


def prefill_anchors(
    layers: Sequence[nn.Module],
    anchors: torch.Tensor,
    specs: Sequence[Group],
    kv_cache: KVCache,
    chunk_size: int,
    freqs: Freqs | None = None,
    condition: torch.Tensor | None = None,
    on_layer: Callable[[], None] | None = None,
) -> None:
    """Fill ``kv_cache`` for every layer with the anchors' keys/values, passing the anchors in chunks.

    Per layer: ``prefill_kv`` caches all anchors' keys/values, then each chunk of
    each group runs through the layer against the cache, under the name the layer
    gives for that group. The last layer's outputs are never needed, so it only prefills.
    """
    given = {name: value for name, value in {"condition": condition, "freqs": freqs}.items() if value is not None}
    cached = [Group(spec.name, None) for spec in specs]
    h = anchors.clone()
    kv_cache.reserve(len(layers) * 2 * anchors.nbytes, anchors)  # keys and values as wide as the hidden states
    for index, layer in enumerate(layers):
        aliases = cast(PrefillLayer, layer).prefill_kv(
            h, token_specs=specs, kv_cache=kv_cache, chunk_size=chunk_size, **given
        )
        if index == len(layers) - 1:  # its outputs are never needed
            if on_layer is not None:
                on_layer()
            break
        offset = 0
        for spec in specs:
            size = spec.size or 0
            for start in range(offset, offset + size, chunk_size):
                stop = min(start + chunk_size, offset + size)
                part = dict(given)
                if freqs is not None:
                    part["freqs"] = token_slice(freqs, start, stop)
                chunk_specs = [*cached, Group(aliases[spec.name], stop - start)]
                h[:, start:stop] = layer(h[:, start:stop], token_specs=chunk_specs, kv_cache=kv_cache, **part)
            offset += size
        if on_layer is not None:
            on_layer()


class _NoProgress:
    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def progress_bar(total: int, enabled: bool | None, desc: str = "queries", unit: str = "pt") -> Any:
    """A tqdm bar on stderr (``enabled`` None: when stderr is a terminal), or one that shows nothing."""
    if not (sys.stderr.isatty() if enabled is None else enabled):
        return _NoProgress()  # tqdm not even imported: its import alone costs megabytes
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit == "pt", desc=desc, dynamic_ncols=True)


@torch.no_grad()
def stream_queries(
    layers: Layers,
    anchors: torch.Tensor,
    anchor_specs: TokenSpecs,
    queries: Mapping[str, torch.Tensor],
    *,
    chunk_size: int,
    anchor_chunk_size: int | None = None,
    anchor_freqs: Freqs | None = None,
    query_freqs: Mapping[str, Freqs] | None = None,
    condition: torch.Tensor | None = None,
    out: Mapping[str, torch.Tensor] | None = None,
    progress: bool | None = None,
    on_chunk: OnChunk | None = None,
    split: bool | None = None,
    gather: Gather = "all",
    compile: Compile = False,
    stats: dict[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """Outputs of ``queries`` (group name -> (batch, points, dim)) as if run in one forward with the anchors.

    ``layers``: a ``TransformerStack``, a sequence of layers, or one module taking
    ``(x, token_specs, kv_cache=...)``. ``anchors``/``anchor_specs``: the anchor
    groups, concatenated in spec order. ``chunk_size``: query points per forward.
    ``anchor_chunk_size``: anchor tokens per forward when every layer can prefill
    (default ``chunk_size``; otherwise the anchors run in one forward).
    ``condition`` (batch, condition_dim) reaches every layer (conditioned blocks).
    ``out`` may hold preallocated output buffers (group -> tensor) the chunks are
    written into; otherwise each group's output is allocated at its first chunk
    and filled in place. ``on_chunk(group, start, output)`` sees
    each chunk as it is done. ``progress``: a progress bar (points, throughput,
    ETA); default: only on a terminal (and only on rank 0). ``compile``: the
    layers run compiled for the query chunks (``torch.compile`` with
    ``fullgraph=True``, one graph per chunk shape; True: inductor, or a backend
    name), the anchors eager; ``stats`` receives the compile time (see
    :func:`stream_chunks`).

    Under ``torch.distributed`` (``split``: default when a process group of more
    than one rank is initialised), each rank caches the anchors and streams its
    share of every query group (:func:`noether.modeling.distributed.share`);
    ``gather`` puts the outputs together on every rank (``"all"``), on rank 0
    (``"rank0"``: the other ranks return ``{}``), or leaves each rank its share
    (``"none"``). ``out`` and ``on_chunk`` use positions in the whole group. A
    rank that fails raises on every rank.
    """
    check_gather(gather)
    check_compile(compile)
    if rank_and_world()[1] == 1 or split is False:
        return _stream(layers, anchors, anchor_specs, queries, chunk_size=chunk_size,
                       anchor_chunk_size=anchor_chunk_size, anchor_freqs=anchor_freqs, query_freqs=query_freqs,
                       condition=condition, out=out, progress=progress, on_chunk=on_chunk, compile=compile,
                       stats=stats)  # fmt: skip

    def run(bounds: dict[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
        freqs = None if query_freqs is None else {g: token_slice(f, *bounds[g]) for g, f in query_freqs.items()}
        return _stream(
            layers, anchors, anchor_specs, {g: q[:, slice(*bounds[g])] for g, q in queries.items()},
            chunk_size=chunk_size, anchor_chunk_size=anchor_chunk_size, anchor_freqs=anchor_freqs, query_freqs=freqs,
            condition=condition, out=None if out is None else {g: t[:, slice(*bounds[g])] for g, t in out.items()},
            progress=progress if rank_and_world()[0] == 0 else False, on_chunk=in_whole_groups(on_chunk, bounds),
            compile=compile, stats=stats,
        )  # fmt: skip

    points = {group: tensor.shape[1] for group, tensor in queries.items()}
    outputs = run_split("stream_queries", points, run, lambda group: group, gather)
    if out is not None and gather != "none":  # the gathered outputs into the caller's buffers
        for group, whole in outputs.items():
            if group in out:
                outputs[group] = out[group].copy_(whole)
    return outputs


def _stream(
    layers: Layers,
    anchors: torch.Tensor,
    anchor_specs: TokenSpecs,
    queries: Mapping[str, torch.Tensor],
    *,
    chunk_size: int,
    anchor_chunk_size: int | None,
    anchor_freqs: Freqs | None,
    query_freqs: Mapping[str, Freqs] | None,
    condition: torch.Tensor | None,
    out: Mapping[str, torch.Tensor] | None,
    progress: bool | None,
    on_chunk: OnChunk | None,
    compile: Compile = False,
    stats: dict[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """``stream_queries`` in one process."""
    check_chunk_size(chunk_size)
    if anchor_chunk_size is not None:
        check_chunk_size(anchor_chunk_size, "anchor_chunk_size")
    if condition is not None and condition.ndim != 2:
        raise InputError(
            f"condition must be one vector per sample, (batch, condition_dim), to stream; got {tuple(condition.shape)}"
        )
    specs = as_token_specs(anchor_specs)
    stack = layer_list(layers)
    cache = KVCache(layers if isinstance(layers, nn.Module) else nn.ModuleList(layers))
    unable = [type(layer).__name__ for layer in stack if not can_prefill(layer)]
    if anchor_chunk_size is not None and unable:
        raise InputError(
            f"anchor_chunk_size needs layers that can prefill the KV cache (prefill_kv), but {sorted(set(unable))} "
            "cannot; leave anchor_chunk_size unset to run the anchors in one forward"
        )
    with progress_bar(len(stack), progress, desc="anchors into the KV cache", unit="layer") as bar:
        if unable:
            run_layers(stack, anchors, specs, cache, freqs=anchor_freqs, condition=condition)
            bar.update(len(stack))
        else:
            prefill_anchors(stack, anchors, specs, cache, anchor_chunk_size or chunk_size, anchor_freqs, condition,
                            on_layer=lambda: bar.update(1))  # fmt: skip
    cached = [Group(spec.name, None) for spec in specs]

    def through_layers(chunk: torch.Tensor, specs_now: list[Group], freqs: Freqs | None) -> torch.Tensor:
        return run_layers(stack, chunk, specs_now, cache, freqs=freqs, condition=condition)

    forward = compiled(through_layers, compile)

    def step(group: str, start: int, chunk: torch.Tensor) -> torch.Tensor:
        stop = start + chunk.shape[1]
        freqs = None if query_freqs is None else token_slice(query_freqs[group], start, stop)
        return forward(chunk, [*cached, Group(group, chunk.shape[1])], freqs)

    return stream_chunks(queries, step, chunk_size=chunk_size, out=out, on_chunk=on_chunk, progress=progress,
                         stats=stats)  # fmt: skip


def in_whole_groups(on_chunk: OnChunk | None, bounds: Mapping[str, tuple[int, int]]) -> OnChunk | None:
    """``on_chunk`` of a rank's share, called with positions in the whole group (the share starts at ``bounds``)."""
    if on_chunk is None:
        return None
    report = on_chunk
    return lambda group, start, output: report(group, bounds[group][0] + start, output)


def check_compile(compile: Compile) -> str | None:
    """The backend ``compile`` names (None: eager), or a ValueError naming the backends there are."""
    if compile is False:
        return None
    if compile is True:
        return "inductor"
    if isinstance(compile, str) and compile in torch._dynamo.list_backends(exclude_tags=()):
        return compile
    raise ValueError(f"compile must be True, False or a torch.compile backend "
                     f"({', '.join(torch._dynamo.list_backends())}, ...); got {compile!r}")  # fmt: skip


def compiled(fn: Callable[..., torch.Tensor], compile: Compile) -> Callable[..., torch.Tensor]:
    """``fn`` compiled as one graph per chunk shape: the full chunks share one, a last, shorter chunk gets its own
    (shapes stay static, so each graph is specialised; no padded points are computed)."""
    backend = check_compile(compile)
    if backend is None:
        return fn
    graph = cast(Callable[..., torch.Tensor], torch.compile(fn, fullgraph=True, dynamic=False, backend=backend))

    def run(*args: Any) -> torch.Tensor:
        # Every model, group and chunk shape streamed in one process is a graph of this one function's code:
        # dynamo's default limit of 8 per function would fail (fullgraph) at the third model.
        with torch._dynamo.config.patch(recompile_limit=GRAPHS_PER_STEP):
            return graph(*args)

    return run


GRAPHS_PER_STEP = 512
"""Graphs a compiled chunk step may hold across the models and chunk shapes streamed in one process."""


def stream_chunks(
    queries: Mapping[str, torch.Tensor],
    step: Callable[[str, int, torch.Tensor], torch.Tensor],
    *,
    chunk_size: int,
    out: Mapping[str, torch.Tensor] | None = None,
    on_chunk: OnChunk | None = None,
    progress: bool | None = None,
    stats: dict[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """The one chunk loop of streaming (``stream_queries`` and ``AnchoredBranchedUPT.stream``).

    ``step(group, start, chunk)`` runs one chunk (batch, points, ...) of a query group through the model.
    Each group's output is allocated at its first chunk (or taken from ``out``) and filled in place:
    concatenating the chunks at the end would double the peak. ``stats``, when given, receives
    ``compile_seconds``: the time the first call of each chunk shape took beyond what that many points
    take once compiled (zero, give or take noise, when nothing is compiled; when no shape runs twice there
    is nothing to compare with, and the first calls count whole), and ``chunks``.
    """
    check_chunk_size(chunk_size)
    outputs: dict[str, torch.Tensor] = dict(out or {})
    first: dict[tuple[str, int], float] = {}  # seconds of the first chunk of each shape
    per_point: list[float] = []  # seconds per point of the others
    with progress_bar(sum(t.shape[0] * t.shape[1] for t in queries.values()), progress) as bar:
        for group, points in queries.items():
            for start in range(0, points.shape[1], chunk_size):
                chunk = points[:, start : start + chunk_size]
                began = time.perf_counter()
                result = step(group, start, chunk)
                if group not in outputs:
                    outputs[group] = result.new_empty(result.shape[0], points.shape[1], *result.shape[2:])
                outputs[group][:, start : start + chunk.shape[1]] = result
                seconds, shape = time.perf_counter() - began, (group, chunk.shape[1])
                if shape in first:
                    per_point.append(seconds / chunk.shape[1])
                else:
                    first[shape] = seconds
                if on_chunk is not None:
                    on_chunk(group, start, result)
                bar.update(chunk.shape[0] * chunk.shape[1])
    if stats is not None:
        rate = statistics.median(per_point) if per_point else 0.0
        stats["compile_seconds"] = sum(max(0.0, t - rate * n) for (_, n), t in first.items())
        stats["chunks"] = len(first) + len(per_point)
    return outputs
