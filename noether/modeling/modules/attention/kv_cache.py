"""Keys and values of token groups, cached per attention layer.

Anchor attention evaluates millions of query points against a few thousand
anchors. A forward pass over the anchors with a ``KVCache`` stores each layer's
anchor keys/values (after projection, qk-norm and RoPE); later passes declare
those groups with ``TokenSpec(size=None)`` and carry only query tokens, so query
chunks of any size reuse the anchors without recomputing or re-attending them.
"""

from collections.abc import Iterator

import torch
from torch import nn


class KVCache:
    """Per-layer ``(keys, values)`` of token groups; one cache serves a whole stack.

    Layers are the attention modules themselves, so passing the same cache to
    every block keeps their entries apart. Give the root module to name layers by
    their qualified names in error messages (otherwise they are numbered in the
    order they first stored something).
    """

    def __init__(self, root: nn.Module | None = None) -> None:
        self._entries: dict[nn.Module, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}
        self._names: dict[nn.Module, str] = {}
        if root is not None:
            self._names = {module: name or type(root).__name__ for name, module in root.named_modules()}

    def layer_name(self, layer: nn.Module) -> str:
        name = self._names.get(layer)
        if name is None:
            name = self._names[layer] = f"{type(layer).__name__} #{len(self._entries)}"
        return name

    def store(self, layer: nn.Module, group: str, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Keep ``keys``/``values`` (batch, heads, tokens, head_dim) of ``group`` for ``layer``."""
        self.layer_name(layer)
        # Copies: the inputs are usually views into the layer's whole qkv projection, which a cache
        # entry would otherwise keep alive (queries included) for as long as the cache lives.
        self._entries.setdefault(layer, {})[group] = (keys.clone(), values.clone())

    def load(self, layer: nn.Module, group: str, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached keys/values of ``group``, checked against the tensor ``like`` they meet."""
        entry = self._entries.get(layer, {}).get(group)
        if entry is None:
            stored = sorted(self._entries.get(layer, {}))
            raise KeyError(
                f"token group {group!r} has size=None but is not in the KV cache of layer {self.layer_name(layer)!r} "
                f"(cached groups: {stored or 'none'}); run a forward pass with the group present and this cache first"
            )
        keys, values = entry
        problems = []
        if keys.shape[0] != like.shape[0]:
            problems.append(f"batch size {keys.shape[0]} != {like.shape[0]}")
        if keys.dtype != like.dtype:
            problems.append(f"dtype {keys.dtype} != {like.dtype}")
        if keys.device != like.device:
            problems.append(f"device {keys.device} != {like.device}")
        if problems:
            raise ValueError(
                f"KV cache entry of token group {group!r} in layer {self.layer_name(layer)!r} does not match the "
                f"input: {'; '.join(problems)}"
            )
        return keys, values

    def groups(self, layer: nn.Module) -> list[str]:
        return list(self._entries.get(layer, {}))

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        """Number of layers with entries."""
        return len(self._entries)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self._entries)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for groups in self._entries.values() for k, v in groups.values())

    def __repr__(self) -> str:
        layers = ", ".join(f"{self.layer_name(layer)}: {sorted(groups)}" for layer, groups in self._entries.items())
        return f"KVCache({layers})"
