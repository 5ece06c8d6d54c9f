"""Keys and values of token groups, cached per attention layer.

Anchor attention evaluates millions of query points against a few thousand
anchors. A forward pass over the anchors with a ``KVCache`` stores each layer's
anchor keys/values (after projection, qk-norm and RoPE); later passes declare
those groups with ``TokenSpec(size=None)`` and carry only query tokens, so query
chunks of any size reuse the anchors without recomputing or re-attending them.
"""

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

import torch
from torch import nn

from noether.modeling.contract import InputError


class _Entry(NamedTuple):
    """One group's keys/values: tokens ``start:stop`` of buffers that groups stored together share."""

    keys: torch.Tensor  # (batch, heads, tokens, head_dim)
    values: torch.Tensor
    start: int
    stop: int

    def span(self, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.keys[:, :, self.start : stop], self.values[:, :, self.start : stop]


class KVCache:
    """Per-layer ``(keys, values)`` of token groups; one cache serves a whole stack.

    Layers are the attention modules themselves, so passing the same cache to
    every block keeps their entries apart. Give the root module to name layers by
    their qualified names in error messages (otherwise they are numbered in the
    order they first stored something). Groups stored together share one buffer,
    so reading them back in that order costs no copy.
    """

    def __init__(self, root: nn.Module | None = None) -> None:
        self._entries: dict[nn.Module, dict[str, _Entry]] = {}
        self._names: dict[nn.Module, str] = {}
        self._slab: torch.Tensor | None = None
        self._slab_used = 0
        if root is not None:
            self._names = {module: name or type(root).__name__ for name, module in root.named_modules()}

    def layer_name(self, layer: nn.Module) -> str:
        name = self._names.get(layer)
        if name is None:
            name = self._names[layer] = f"{type(layer).__name__} #{len(self._entries)}"
        return name

    def store_groups(
        self, layer: nn.Module, slices: Mapping[str, tuple[int, int]], keys: torch.Tensor, values: torch.Tensor
    ) -> None:
        """Keep the groups ``name -> (start, stop)`` along the token axis of ``keys``/``values`` for ``layer``.

        The groups' tokens are kept in one compact buffer, in the order given.
        """
        self.layer_name(layer)
        ranges = list(slices.values())
        if not ranges:
            return
        k, v = self._kept(keys, ranges), self._kept(values, ranges)
        entries = self._entries.setdefault(layer, {})
        offset = 0
        for name, (start, stop) in slices.items():
            entries[name] = _Entry(k, v, offset, offset + stop - start)
            offset += stop - start

    def reserve(self, nbytes: int, like: torch.Tensor) -> None:
        """Set aside ``nbytes`` (dtype and device of ``like``) for the buffers ``empty`` hands out next.

        One allocation for a whole stack's cache instead of two per layer. On CPU
        it also keeps the cache out of the malloc heap, where the activations
        allocated and freed between its entries would fragment the heap around it.
        """
        self._slab = like.new_empty(nbytes // like.element_size())
        self._slab_used = 0

    def empty(self, batch: int, tokens: int, heads: int, head_dim: int, like: torch.Tensor) -> torch.Tensor:
        """A buffer (batch, heads, tokens, head_dim) for keys or values to store, dtype and device of ``like``.

        Stored as it is, without a copy; carved from the reserved space while it lasts.
        """
        shape = (batch, tokens, heads, head_dim)
        numel = batch * tokens * heads * head_dim
        slab, used = self._slab, self._slab_used
        if slab is None or (slab.dtype, slab.device) != (like.dtype, like.device) or used + numel > slab.numel():
            return like.new_empty(shape).transpose(1, 2)
        self._slab_used += numel
        return slab[used : used + numel].view(shape).transpose(1, 2)

    def _in_slab(self, t: torch.Tensor) -> bool:
        return self._slab is not None and t.untyped_storage().data_ptr() == self._slab.untyped_storage().data_ptr()

    def _kept(self, t: torch.Tensor, ranges: Sequence[tuple[int, int]]) -> torch.Tensor:
        """The tokens ``ranges`` of ``t`` as the cache keeps them: ``t`` itself when it is a buffer of its own
        or from ``empty``, else a copy (a slice of a whole qkv projection would keep the projection alive)."""
        if torch.compiler.is_compiling():  # storage checks do not trace; a copy is always right
            return torch.cat([t[:, :, start:stop] for start, stop in ranges], dim=2)
        back_to_back = all(before[1] == after[0] for before, after in itertools.pairwise(ranges))
        whole = back_to_back and (ranges[0][0], ranges[-1][1]) == (0, t.shape[2])
        if whole and (self._in_slab(t) or t.untyped_storage().nbytes() == t.nbytes):
            return t
        batch, heads, _, head_dim = t.shape
        buffer = self.empty(batch, sum(b - a for a, b in ranges), heads, head_dim, t)
        offset = 0
        for start, stop in ranges:
            buffer[:, :, offset : offset + stop - start] = t[:, :, start:stop]
            offset += stop - start
        return buffer

    def load(self, layer: nn.Module, group: str, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached keys/values of ``group``, checked against the tensor ``like`` they meet."""
        return self.load_groups(layer, [group], like)

    def load_groups(
        self, layer: nn.Module, groups: Sequence[str], like: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached keys/values of ``groups`` concatenated along the token axis: a view when stored together."""
        entries = [self._entry(layer, group, like) for group in groups]
        first = entries[0]
        stop = first.stop
        for entry in entries[1:]:
            if entry.keys is not first.keys or entry.start != stop:
                break
            stop = entry.stop
        else:
            return first.span(stop)
        keys, values = zip(*(entry.span(entry.stop) for entry in entries), strict=True)
        return torch.cat(keys, dim=2), torch.cat(values, dim=2)

    def _entry(self, layer: nn.Module, group: str, like: torch.Tensor) -> _Entry:
        entry = self._entries.get(layer, {}).get(group)
        if entry is None:
            stored = sorted(self._entries.get(layer, {}))
            raise KeyError(
                f"token group {group!r} has size=None but is not in the KV cache of layer {self.layer_name(layer)!r} "
                f"(cached groups: {stored or 'none'}); run a forward pass with the group present and this cache first"
            )
        keys = entry.keys
        problems = []
        if keys.shape[0] != like.shape[0]:
            problems.append(f"batch size {keys.shape[0]} != {like.shape[0]}")
        if keys.dtype != like.dtype:
            problems.append(f"dtype {keys.dtype} != {like.dtype}")
        if keys.device != like.device:
            problems.append(f"device {keys.device} != {like.device}")
        if problems:
            raise InputError(
                f"KV cache entry of token group {group!r} in layer {self.layer_name(layer)!r} does not match the "
                f"input: {'; '.join(problems)}"
            )
        return entry

    def groups(self, layer: nn.Module) -> list[str]:
        return list(self._entries.get(layer, {}))

    def clear(self) -> None:
        self._entries.clear()
        self._slab, self._slab_used = None, 0

    def __len__(self) -> int:
        """Number of layers with entries."""
        return len(self._entries)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes of the cached keys and values (buffers shared by groups counted once)."""
        buffers = {id(t): t for entries in self._entries.values() for e in entries.values() for t in (e.keys, e.values)}
        return sum(t.nbytes for t in buffers.values())

    def __repr__(self) -> str:
        layers = ", ".join(f"{self.layer_name(layer)}: {sorted(groups)}" for layer, groups in self._entries.items())
        return f"KVCache({layers})"
