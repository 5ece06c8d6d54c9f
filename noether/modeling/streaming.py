"""Streaming inference: anchors once into a KV cache, then query points in chunks.

In anchor attention, queries attend only to anchors, so a query's output does
not depend on the other queries. ``stream_queries`` runs the anchor tokens once
through every layer with a shared ``KVCache``, then pushes the query points
through all layers chunk by chunk, each chunk reading the anchors' keys/values
from the cache. Memory stays flat in the number of queries (one chunk's
activations plus the cache) and the outputs equal a one-shot forward.
"""

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from noether.core.schemas.modules.attention import TokenSpec
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.attention.mixed.layout import as_token_specs

Layers = nn.Module | Sequence[nn.Module]


def run_layers(
    layers: Layers,
    x: torch.Tensor,
    specs: Sequence[TokenSpec],
    kv_cache: KVCache,
    freqs: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x`` through ``layers``; each takes ``(x, token_specs, kv_cache=..., [freqs=...])``."""
    extra: dict[str, Any] = {} if freqs is None else {"freqs": freqs}
    for layer in [layers] if isinstance(layers, nn.Module) and not isinstance(layers, nn.ModuleList) else layers:
        x = layer(x, specs, kv_cache=kv_cache, **extra)
    return x


def _progress(total: int, enabled: bool | None) -> Any:
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, unit="pt", unit_scale=True, desc="queries", disable=not show, dynamic_ncols=True)


@torch.no_grad()
def stream_queries(
    layers: Layers,
    anchors: torch.Tensor,
    anchor_specs: Sequence[TokenSpec | Mapping[str, int | None]],
    queries: Mapping[str, torch.Tensor],
    *,
    chunk_size: int,
    anchor_freqs: torch.Tensor | None = None,
    query_freqs: Mapping[str, torch.Tensor] | None = None,
    out: Mapping[str, torch.Tensor] | None = None,
    progress: bool | None = None,
    on_chunk: Callable[[str, int, torch.Tensor], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Outputs of ``queries`` (group name -> (batch, points, dim)) as if run in one forward with the anchors.

    ``anchors``/``anchor_specs``: the anchor groups, concatenated in spec order.
    ``chunk_size``: query points per forward. ``out`` may hold preallocated output
    buffers (group -> tensor) the chunks are written into; otherwise the outputs
    are concatenated. ``on_chunk(group, start, output)`` sees each chunk as it is
    done. ``progress``: a progress bar (points, throughput, ETA); default: only on
    a terminal.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    specs = as_token_specs(anchor_specs)
    cache = KVCache(layers if isinstance(layers, nn.Module) else nn.ModuleList(layers))
    run_layers(layers, anchors, specs, cache, anchor_freqs)
    cached = [TokenSpec(name=spec.name, size=None) for spec in specs]
    results: dict[str, list[torch.Tensor]] = {}
    total = sum(tensor.shape[1] for tensor in queries.values())
    with _progress(total, progress) as bar:
        for group, points in queries.items():
            for start in range(0, points.shape[1], chunk_size):
                chunk = points[:, start : start + chunk_size]
                freqs = None if query_freqs is None else query_freqs[group][:, start : start + chunk_size]
                specs_now = [*cached, TokenSpec(name=group, size=chunk.shape[1])]
                result = run_layers(layers, chunk, specs_now, cache, freqs)
                if out is not None:
                    out[group][:, start : start + chunk.shape[1]] = result
                else:
                    results.setdefault(group, []).append(result)
                if on_chunk is not None:
                    on_chunk(group, start, result)
                bar.update(chunk.shape[1])
    if out is not None:
        return dict(out)
    return {group: torch.cat(parts, dim=1) for group, parts in results.items()}
