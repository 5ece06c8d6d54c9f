from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.contract import InputError, check_index_range, check_tensor
from noether.modeling.functional.geometric import knn, radius
from noether.modeling.modules.encoders.supernode_pooling.config import SupernodePoolingConfig
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.continuous_sincos_embed.module import ContinuousSincosEmbed
from noether.modeling.modules.layers.linear_projection.module import LinearProjection


class SupernodePooling(FactoryModule):
    """Supernode pooling (UPT, AB-UPT): a point cloud becomes one token per supernode.

    Each supernode (a subset of the points, given by index) gathers messages from
    its neighbours (within ``radius``, at most ``max_degree``, or its ``k`` nearest)
    and averages or sums them. Messages embed the absolute positions of both ends
    (``abspos``), their offset and distance (``relpos``), or both. Memory grows with
    the number of edges; the neighbour search works in bounded blocks.
    """

    def __init__(
        self,
        config: SupernodePoolingConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = SupernodePoolingConfig.coerce(config)
        self.config = config
        hidden, mode = config.hidden_dim, config.init_weights
        self.radius, self.k, self.max_degree = config.radius, config.k, config.max_degree
        self.spool_pos_mode, self.aggregation = config.spool_pos_mode, config.aggregation
        self.readd_supernode_pos, self.input_features_dim = config.readd_supernode_pos, config.input_features_dim
        self.output_dim = hidden

        def linear(fan_in: int) -> LinearProjection:
            return LinearProjection({"input_dim": fan_in, "output_dim": hidden, "init_weights": mode})

        self.pos_embed = ContinuousSincosEmbed({"hidden_dim": hidden, "input_dim": config.input_dim})
        self.feature_projection = self.feature_down_projection = None
        if config.input_features_dim is not None:
            self.feature_projection = linear(config.input_features_dim)
            self.feature_down_projection = linear(hidden * (3 if config.spool_pos_mode == "relpos" else 2))
        self.rel_pos_embed = None
        if config.spool_pos_mode != "abspos":  # offset and its length
            self.rel_pos_embed = ContinuousSincosEmbed({"hidden_dim": hidden, "input_dim": config.input_dim + 1})
        message_dim = {"abspos": 2 * hidden, "absrelpos": 3 * hidden, "relpos": hidden}[config.spool_pos_mode]
        self.message: nn.Module = nn.Identity()
        if config.message_mode == "mlp":
            self.message = nn.Sequential(linear(message_dim), nn.GELU(), linear(hidden))
        elif config.message_mode == "linear":
            self.message = linear(message_dim)
        self.proj = linear(2 * hidden) if config.readd_supernode_pos else None

    def compute_src_and_dst_indices(
        self, input_pos: torch.Tensor, supernode_idx: torch.Tensor, batch_idx: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Edges into the supernodes: (source point, supernode point, the supernode's place in ``supernode_idx``)."""
        batch_y = None if batch_idx is None else batch_idx[supernode_idx]
        supernodes = input_pos[supernode_idx]
        if self.radius is not None:
            edges = radius(input_pos, supernodes, self.radius, self.max_degree, batch_idx, batch_y)
        else:
            assert self.k is not None  # the config holds exactly one of them
            edges = knn(input_pos, supernodes, self.k, batch_idx, batch_y)
        local_dst_idx, src_idx = edges.unbind()
        return src_idx, supernode_idx[local_dst_idx], local_dst_idx

    def create_messages(
        self,
        input_pos: torch.Tensor,
        src_idx: torch.Tensor,
        dst_idx: torch.Tensor,
        supernode_idx: torch.Tensor,
        input_features: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One message per edge, and the position embedding of every supernode."""
        if self.spool_pos_mode == "abspos":
            x = self.pos_embed(input_pos)
            if self.feature_projection is not None and self.feature_down_projection is not None:
                x = self.feature_down_projection(torch.cat([x, self.feature_projection(input_features)], dim=1))
            return self.message(torch.cat([x[src_idx], x[dst_idx]], dim=1)), x[supernode_idx]
        assert self.rel_pos_embed is not None
        offset = input_pos[dst_idx] - input_pos[src_idx]
        relative = self.rel_pos_embed(torch.cat([offset, offset.norm(dim=1, keepdim=True)], dim=1))
        if self.spool_pos_mode == "absrelpos":
            x = self.pos_embed(input_pos)
            return self.message(torch.cat([x[src_idx], x[dst_idx], relative], dim=1)), x[supernode_idx]
        if self.feature_projection is not None and self.feature_down_projection is not None:
            features = self.feature_projection(input_features)
            relative = self.feature_down_projection(torch.cat([relative, features[src_idx], features[dst_idx]], dim=1))
        return self.message(relative), self.pos_embed(input_pos[supernode_idx])

    def accumulate_messages(
        self, x: torch.Tensor, local_dst_idx: torch.Tensor, supernode_idx: torch.Tensor
    ) -> torch.Tensor:
        """Each supernode's mean (or sum) of its messages; a supernode without messages gets zeros."""
        out = x.new_zeros(supernode_idx.shape[0], x.shape[1])
        index = local_dst_idx.unsqueeze(1).expand_as(x)
        return out.scatter_reduce_(0, index, x, reduce=self.aggregation, include_self=False)

    def forward(
        self,
        input_pos: torch.Tensor,
        supernode_idx: torch.Tensor,
        batch_idx: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        *,
        batch_size: int | None = None,
    ) -> torch.Tensor:
        """Points (N, input_dim) of all samples, supernode indices (S,) -> tokens (batch, S // batch, hidden).

        ``batch_idx`` (N,) says which sample each point belongs to (None: one sample);
        every sample must have the same number of supernodes (``batch_size``: their number, when the caller
        knows it; else read from ``batch_idx``). ``input_features``:
        (N, input_features_dim) or (batch, N // batch, input_features_dim).
        """
        name, weight = type(self).__name__, next(self.parameters(), None)  # none: identity messages
        points = check_tensor(name, "input_pos", input_pos, "points input_dim",
                              {"input_dim": self.pos_embed.input_dim}, like=weight)  # fmt: skip
        supernodes = check_tensor(name, "supernode_idx", supernode_idx, "supernodes", kind="int", like=input_pos)
        if batch_idx is not None:
            check_tensor(name, "batch_idx", batch_idx, "points", dict(points), kind="int", like=input_pos)
        if input_features is not None and input_features.ndim == 3:
            input_features = input_features.flatten(0, 1)
        if (input_features is None) != (self.input_features_dim is None):
            want = "None" if self.input_features_dim is None else f"({points['points']}, {self.input_features_dim})"
            got = None if input_features is None else tuple(input_features.shape)
            raise InputError(f"{name}: input_features must be {want} (input_features_dim), got {got}")
        if input_features is not None:
            check_tensor(name, "input_features", input_features, "points input_features_dim",
                         {"points": points["points"], "input_features_dim": int(self.input_features_dim or 0)},
                         like=weight)  # fmt: skip
        check_index_range(name, "supernode_idx", supernode_idx, points["points"])
        check_index_range(name, "batch_idx", batch_idx, points["points"])
        if batch_size is None:  # read from the data: a caller that knows it (AB-UPT) keeps compiled graphs whole
            batch_size = 1 if batch_idx is None or not batch_idx.numel() else int(batch_idx.max()) + 1
        if supernodes["supernodes"] % batch_size:
            raise InputError(
                f"{name}: {supernodes['supernodes']} supernodes do not split evenly into {batch_size} samples"
            )
        src_idx, dst_idx, local_dst_idx = self.compute_src_and_dst_indices(input_pos, supernode_idx, batch_idx)
        messages, supernode_embed = self.create_messages(input_pos, src_idx, dst_idx, supernode_idx, input_features)
        x = self.accumulate_messages(messages, local_dst_idx, supernode_idx).view(batch_size, -1, messages.shape[1])
        if self.proj is not None:
            x = self.proj(torch.cat([x, supernode_embed.view(batch_size, -1, supernode_embed.shape[1])], dim=-1))
        return x
