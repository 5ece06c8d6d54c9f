from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from noether.modeling.checkpoint import Checkpointable
from noether.modeling.contract import InputError, check_index_range, check_tensor
from noether.modeling.distributed import Gather, check_gather, rank_and_world, run_split
from noether.modeling.models.ab_upt.config import BRANCHES, AnchorBranchedUPTConfig, field_slices
from noether.modeling.modules.attention.kv_cache import KVCache
from noether.modeling.modules.attention.mixed.layout import Group
from noether.modeling.modules.blocks.perceiver.module import PerceiverBlock
from noether.modeling.modules.blocks.transformer.module import TransformerBlock
from noether.modeling.modules.encoders.supernode_pooling.module import SupernodePooling
from noether.modeling.modules.factory import Device, FactoryModule
from noether.modeling.modules.layers.continuous_sincos_embed.module import ContinuousSincosEmbed
from noether.modeling.modules.layers.linear_projection.module import LinearProjection
from noether.modeling.modules.layers.rope_frequency.module import RopeFrequency
from noether.modeling.modules.mlp.mlp.module import MLP
from noether.modeling.streaming import (
    Compile,
    OnChunk,
    check_chunk_size,
    check_compile,
    compiled,
    in_whole_groups,
    stream_chunks,
)

Geometry = tuple[torch.Tensor, torch.Tensor] | None
"""The geometry tokens and their RoPE frequencies, when a physics block attends to them."""


class AnchoredBranchedUPT(Checkpointable, FactoryModule):
    """AB-UPT: fields on a car's surface and in the volume around it, at any query points.

    With anchor-attention physics blocks (perceiver, shared, cross, joint), query
    points attend only to anchor points and the geometry, never to each other,
    so a query's prediction does not depend on which other queries are
    evaluated with it: ``forward`` takes anchors and queries at once (1.x's
    signature and output names), ``stream`` takes the anchors once and the
    queries in chunks against a KV cache of the anchors, with the same result and
    memory flat in the number of queries. The state dict is 1.x's for the same config:
    ``from_checkpoint`` reads 1.x's trainer checkpoints, ``save_checkpoint`` writes that layout.
    """

    def __init__(
        self,
        config: AnchorBranchedUPTConfig | Mapping[str, Any],
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        config = AnchorBranchedUPTConfig.coerce(config)
        self.config, self.data_specs = config, config.data_specs
        self.rope = RopeFrequency(config.rope_frequency_config or {})
        self.pos_embed = ContinuousSincosEmbed(config.pos_embed_config or {})
        self.encoder = SupernodePooling(config.supernode_pooling_config)
        geometry_block = config.transformer_block_config
        self.geometry_blocks = nn.ModuleList(TransformerBlock(geometry_block) for _ in range(config.geometry_depth))
        self.surface_bias = MLP(config.bias_mlp_config or {})
        self.volume_bias = MLP(config.bias_mlp_config or {})
        self.physics_blocks = nn.ModuleList()
        for name in config.physics_blocks:
            kind, block_config = config.physics_block(name)
            self.physics_blocks.append(
                PerceiverBlock(block_config) if kind == "perceiver" else TransformerBlock(block_config)
            )
        self.use_geometry_branch = "perceiver" in config.physics_blocks
        self.mixing_blocks = [
            name
            for name, block in zip(config.physics_blocks, self.physics_blocks, strict=True)
            if isinstance(block, TransformerBlock) and not block.can_prefill
        ]
        """Physics blocks whose attention is not anchor attention: there, queries attend to each other."""
        self.surface_decoder_blocks = nn.ModuleList(
            TransformerBlock(config.decoder_block("surface")) for _ in range(config.num_surface_blocks)
        )
        self.volume_decoder_blocks = nn.ModuleList(
            TransformerBlock(config.decoder_block("volume")) for _ in range(config.num_volume_blocks)
        )
        self.surface_decoder = LinearProjection(config.surface_decoder_config or {})
        self.volume_decoder = LinearProjection(config.volume_decoder_config or {})

    # -- pieces -------------------------------------------------------------------------------------

    @staticmethod
    def _prepare_condition(
        geometry_design_parameters: torch.Tensor | None, inflow_design_parameters: torch.Tensor | None
    ) -> torch.Tensor | None:
        """The blocks' condition: the design parameters given, (batch, features) each, concatenated."""
        parts = [p.squeeze(1) if p.ndim == 3 and p.shape[1] == 1 else p
                 for p in (geometry_design_parameters, inflow_design_parameters) if p is not None]  # fmt: skip
        return torch.cat(parts, dim=-1) if parts else None

    def encode_geometry(
        self,
        geometry_position: torch.Tensor,
        geometry_supernode_idx: torch.Tensor,
        geometry_batch_idx: torch.Tensor | None,
        batch_size: int,
        condition: torch.Tensor | None,
    ) -> Geometry:
        """Supernode tokens of the geometry after the geometry blocks, and their RoPE frequencies."""
        if not self.use_geometry_branch:
            return None
        freqs = self.freqs(geometry_position[geometry_supernode_idx].unsqueeze(0))
        freqs = freqs.view(batch_size, -1, freqs.shape[-1])
        tokens = self.encoder(geometry_position, geometry_supernode_idx, geometry_batch_idx, batch_size=batch_size)
        for block in self.geometry_blocks:
            tokens = block(tokens, condition=condition, freqs=freqs)
        return tokens, freqs

    def freqs(self, position: torch.Tensor) -> torch.Tensor:
        """RoPE rotations of ``position`` (batch, points, dims), as cosines then sines (real numbers)."""
        freqs = self.rope.rotations(position)
        assert isinstance(freqs, torch.Tensor)  # the model's RoPE is the "complex" implementation
        return freqs

    def embed(self, branch: str, position: torch.Tensor) -> torch.Tensor:
        """Physics tokens of points of ``branch``: position embedding and the branch's bias MLP."""
        bias: nn.Module = self.surface_bias if branch == "surface" else self.volume_bias
        out: torch.Tensor = bias(self.pos_embed(position))
        return out

    def physics(
        self,
        x: torch.Tensor,
        specs: list[Group],
        freqs: torch.Tensor,
        geometry: Geometry,
        condition: torch.Tensor | None,
        kv_cache: KVCache | None,
    ) -> torch.Tensor:
        for block in self.physics_blocks:
            if isinstance(block, PerceiverBlock):
                assert geometry is not None  # a Perceiver block makes the model encode the geometry
                x = block(x, geometry[0], condition=condition, q_freqs=freqs, k_freqs=geometry[1])
            elif isinstance(block, TransformerBlock):
                given = {"token_specs": specs, "freqs": freqs, "kv_cache": kv_cache}
                x = block(x, condition=condition, **{k: v for k, v in given.items() if k in block.accepts})
        return x

    def decode(
        self,
        branch: str,
        x: torch.Tensor,
        specs: list[Group],
        freqs: torch.Tensor,
        condition: torch.Tensor | None,
        kv_cache: KVCache | None,
    ) -> torch.Tensor:
        """The decoder blocks and the head of ``branch``: tokens -> that branch's fields, concatenated."""
        blocks = self.surface_decoder_blocks if branch == "surface" else self.volume_decoder_blocks
        for block in blocks:
            x = block(x, condition=condition, token_specs=specs, freqs=freqs, kv_cache=kv_cache)
        head: nn.Module = self.surface_decoder if branch == "surface" else self.volume_decoder
        out: torch.Tensor = head(x)
        return out

    def fields(self, branch: str, predictions: torch.Tensor, prefix: str = "") -> dict[str, torch.Tensor]:
        """Split a branch's predictions into its named fields (``surface_pressure``, ...)."""
        slices = field_slices(self.data_specs.output_dims(branch))
        return {f"{prefix}{branch}_{name}": predictions[..., s] for name, s in slices.items()}

    # -- the boundary -------------------------------------------------------------------------------

    def check_inputs(
        self,
        geometry_position: torch.Tensor,
        geometry_supernode_idx: torch.Tensor,
        geometry_batch_idx: torch.Tensor | None,
        surface_anchor_position: torch.Tensor,
        volume_anchor_position: torch.Tensor,
        geometry_design_parameters: torch.Tensor | None = None,
        inflow_design_parameters: torch.Tensor | None = None,
        query_surface_position: torch.Tensor | None = None,
        query_volume_position: torch.Tensor | None = None,
    ) -> None:
        """Every input of ``forward`` and ``stream`` against the model and the others, before any work:
        shapes, batch agreement, dtypes, devices and the index ranges of the geometry."""
        owner, weight = type(self).__name__, next(self.parameters())
        sizes = {"dims": self.data_specs.position_dim}
        for name, value in (("surface_anchor_position", surface_anchor_position),
                            ("volume_anchor_position", volume_anchor_position),
                            ("query_surface_position", query_surface_position),
                            ("query_volume_position", query_volume_position)):  # fmt: skip
            if value is not None or "anchor" in name:
                check_tensor(owner, name, value, f"batch {name} dims", sizes, like=weight)
        pairs = (("geometry_design_parameters", geometry_design_parameters),
                 ("inflow_design_parameters", inflow_design_parameters))  # fmt: skip
        design = {name: value for name, value in pairs if value is not None}
        for name, value in design.items():
            rank = value.ndim if isinstance(value, torch.Tensor) else 2
            check_tensor(owner, name, value, f"batch {name}" if rank != 3 else f"batch one {name}",
                         {"batch": sizes["batch"], "one": 1}, like=weight)  # fmt: skip
        features = sum(value.shape[-1] for value in design.values())
        if features != (self.data_specs.condition_dim or 0):
            given = ", ".join(f"{name} {tuple(value.shape)}" for name, value in design.items()) or "none"
            raise InputError(
                f"{owner}: the design parameters ({given}) have {features} features in all; the model's "
                f"conditioning_dims {self.data_specs.conditioning_dims or {}} take {self.data_specs.condition_dim or 0}"
            )
        if self.use_geometry_branch:
            self._check_geometry(geometry_position, geometry_supernode_idx, geometry_batch_idx, sizes["batch"])

    def _check_geometry(
        self, position: torch.Tensor, supernode_idx: torch.Tensor, batch_idx: torch.Tensor | None, batch: int
    ) -> None:
        owner, weight = type(self).__name__, next(self.parameters())
        points = check_tensor(owner, "geometry_position", position, "points dims",
                              {"dims": self.data_specs.position_dim}, like=weight)["points"]  # fmt: skip
        supernodes = check_tensor(
            owner, "geometry_supernode_idx", supernode_idx, "supernodes", kind="int", like=position
        )
        if batch_idx is not None:
            check_tensor(
                owner, "geometry_batch_idx", batch_idx, "points", {"points": points}, kind="int", like=position
            )
        check_index_range(owner, "geometry_supernode_idx", supernode_idx, points)
        check_index_range(owner, "geometry_batch_idx", batch_idx, batch)
        if torch.compiler.is_compiling():  # the samples are data too
            return
        samples = 1 if batch_idx is None else int(batch_idx.max()) + 1 if batch_idx.numel() else 0
        if samples != batch or supernodes["supernodes"] % batch:
            raise InputError(
                f"{owner}: the geometry holds {samples} sample(s) (geometry_batch_idx) and "
                f"{supernodes['supernodes']} supernodes, the anchors a batch of {batch}: every sample needs the "
                "same number of supernodes"
            )

    # -- one-shot -----------------------------------------------------------------------------------

    def forward(
        self,
        geometry_position: torch.Tensor,
        geometry_supernode_idx: torch.Tensor,
        geometry_batch_idx: torch.Tensor | None,
        surface_anchor_position: torch.Tensor,
        volume_anchor_position: torch.Tensor,
        geometry_design_parameters: torch.Tensor | None = None,
        inflow_design_parameters: torch.Tensor | None = None,
        query_surface_position: torch.Tensor | None = None,
        query_volume_position: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
    ) -> dict[str, torch.Tensor]:
        """Predictions at the anchors (``surface_<field>``, ``volume_<field>``) and queries (``query_...``).

        Geometry: points (points, dims) of all samples, supernode indices, and the
        sample of each point (``geometry_batch_idx``). Anchors and queries: (batch,
        points, dims). ``kv_cache``: stores the anchors' keys/values for ``stream``.
        Every input is checked first (:meth:`check_inputs`).
        """
        self.check_inputs(geometry_position, geometry_supernode_idx, geometry_batch_idx, surface_anchor_position,
                          volume_anchor_position, geometry_design_parameters, inflow_design_parameters,
                          query_surface_position, query_volume_position)  # fmt: skip
        condition = self._prepare_condition(geometry_design_parameters, inflow_design_parameters)
        geometry = self.encode_geometry(geometry_position, geometry_supernode_idx, geometry_batch_idx,
                                        surface_anchor_position.shape[0], condition)  # fmt: skip
        anchors = {"surface": surface_anchor_position, "volume": volume_anchor_position}
        queries = {"surface": query_surface_position, "volume": query_volume_position}
        return self.run(anchors, queries, geometry, condition, kv_cache)

    def run(
        self,
        anchors: dict[str, torch.Tensor],
        queries: Mapping[str, torch.Tensor | None],
        geometry: Geometry,
        condition: torch.Tensor | None,
        kv_cache: KVCache | None,
    ) -> dict[str, torch.Tensor]:
        """Physics and decoder blocks on the anchors and queries of both branches, at once."""
        specs = {b: [Group(f"{b}_anchors", anchors[b].shape[1])] for b in BRANCHES}
        positions = {}
        for b in BRANCHES:
            query = queries.get(b)
            if query is not None:
                specs[b].append(Group(f"{b}_queries", query.shape[1]))
            positions[b] = anchors[b] if query is None else torch.cat([anchors[b], query], dim=1)
        freqs = {b: self.freqs(positions[b]) for b in BRANCHES}
        x = torch.cat([self.embed(b, positions[b]) for b in BRANCHES], dim=1)
        all_freqs = torch.cat([freqs[b] for b in BRANCHES], dim=1)
        x = self.physics(x, specs["surface"] + specs["volume"], all_freqs, geometry, condition, kv_cache)
        parts = dict(zip(BRANCHES, torch.split(x, [positions[b].shape[1] for b in BRANCHES], dim=1), strict=True))
        out: dict[str, torch.Tensor] = {}
        for b in BRANCHES:
            predictions = self.decode(b, parts[b], specs[b], freqs[b], condition, kv_cache)
            count = anchors[b].shape[1]
            out |= self.fields(b, predictions[:, :count])
            if queries.get(b) is not None:
                out |= self.fields(b, predictions[:, count:], prefix="query_")
        return out

    # -- streamed -----------------------------------------------------------------------------------

    @torch.no_grad()
    def stream(
        self,
        geometry_position: torch.Tensor,
        geometry_supernode_idx: torch.Tensor,
        geometry_batch_idx: torch.Tensor | None,
        surface_anchor_position: torch.Tensor,
        volume_anchor_position: torch.Tensor,
        geometry_design_parameters: torch.Tensor | None = None,
        inflow_design_parameters: torch.Tensor | None = None,
        query_surface_position: torch.Tensor | None = None,
        query_volume_position: torch.Tensor | None = None,
        *,
        chunk_size: int = 4096,
        progress: bool | None = None,
        on_chunk: OnChunk | None = None,
        split: bool | None = None,
        gather: Gather = "all",
        compile: Compile = False,
        stats: dict[str, float] | None = None,
    ) -> dict[str, torch.Tensor]:
        """``forward``'s predictions, with the queries run ``chunk_size`` points at a time.

        The geometry and the anchors run once and fill a KV cache; each chunk of
        query points then attends to the cached anchors through every layer.
        ``progress``: a progress bar of query points (None: when stderr is a terminal);
        ``on_chunk(branch, start, predictions)`` is called after each chunk (``start``: in the whole branch).
        ``compile``: the query chunks run compiled (``torch.compile`` with ``fullgraph=True``, one graph per
        branch and chunk shape; True: inductor, or a backend name), the geometry and anchors eager;
        ``stats`` receives the compile time (:func:`noether.modeling.streaming.stream_chunks`).

        Under ``torch.distributed`` (``split``: default when a process group of more
        than one rank is initialised), every rank encodes the geometry and the
        anchors and streams its share of the query points; ``gather`` puts the
        ``query_*`` predictions together on every rank (``"all"``), on rank 0
        (``"rank0"``: the other ranks get the anchor predictions only), or leaves
        each rank its share (``"none"``). A rank that fails raises on every rank.
        """
        check_gather(gather)
        check_compile(compile)
        self.check_inputs(geometry_position, geometry_supernode_idx, geometry_batch_idx, surface_anchor_position,
                          volume_anchor_position, geometry_design_parameters, inflow_design_parameters,
                          query_surface_position, query_volume_position)  # fmt: skip
        shared = (geometry_position, geometry_supernode_idx, geometry_batch_idx, surface_anchor_position,
                  volume_anchor_position, geometry_design_parameters, inflow_design_parameters)  # fmt: skip
        queries = {"surface": query_surface_position, "volume": query_volume_position}
        rank, world = rank_and_world()
        if world == 1 or split is False:
            return self._stream(shared, queries, chunk_size, progress, on_chunk, compile, stats)

        def run(bounds: dict[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
            local = {b: None if q is None else q[:, slice(*bounds[b])] for b, q in queries.items()}
            on_share = in_whole_groups(on_chunk, bounds)
            out = self._stream(shared, local, chunk_size, progress if rank == 0 else False, on_share, compile, stats)
            return {name: value.contiguous() for name, value in out.items()}  # fields are views of one tensor

        def branch_of(name: str) -> str | None:  # query_<branch>_<field>; anchor fields are on every rank
            return name.removeprefix("query_").partition("_")[0] if name.startswith("query_") else None

        points = {b: q.shape[1] for b, q in queries.items() if q is not None}
        return run_split("AnchoredBranchedUPT.stream", points, run, branch_of, gather)

    def _stream(
        self,
        shared: tuple[Any, ...],
        queries: Mapping[str, torch.Tensor | None],
        chunk_size: int,
        progress: bool | None,
        on_chunk: OnChunk | None,
        compile: Compile,
        stats: dict[str, float] | None,
    ) -> dict[str, torch.Tensor]:
        """``stream`` in one process: ``shared`` holds its inputs up to the queries, in order."""
        positions, supernode_idx, batch_idx, surface_anchors, volume_anchors, design, inflow = shared
        check_chunk_size(chunk_size)  # before the geometry and anchors run
        if self.mixing_blocks:
            raise InputError(
                f"AnchoredBranchedUPT.stream: physics blocks {self.mixing_blocks} are not anchor attention, so query "
                "points attend to each other there and cannot run in chunks; use forward, or perceiver, shared, "
                "cross, joint (or an attention with token_specs and prefill_kv)"
            )
        cache = KVCache(self)
        condition = self._prepare_condition(design, inflow)
        geometry = self.encode_geometry(positions, supernode_idx, batch_idx, surface_anchors.shape[0], condition)
        out = self.run({"surface": surface_anchors, "volume": volume_anchors}, {}, geometry, condition, cache)
        cached = [Group(f"{b}_anchors", None) for b in BRANCHES]

        def through_model(branch: str, points: torch.Tensor) -> torch.Tensor:
            """Predictions of one chunk of ``branch``'s query points, against the cached anchors."""
            chunk = [Group(f"{branch}_queries", points.shape[1])]
            own = [spec for spec in cached if spec.name.startswith(branch)]
            freqs = self.freqs(points)  # per chunk: nothing per query point outlives its chunk but the output
            x = self.physics(self.embed(branch, points), cached + chunk, freqs, geometry, condition, cache)
            return self.decode(branch, x, own + chunk, freqs, condition, cache)

        forward = compiled(through_model, compile)
        given = {b: q for b, q in queries.items() if q is not None}
        predictions = stream_chunks(
            given, lambda branch, _start, points: forward(branch, points), chunk_size=chunk_size,
            on_chunk=on_chunk, progress=progress, stats=stats,
        )  # fmt: skip
        for branch, values in predictions.items():
            out |= self.fields(branch, values, prefix="query_")
        return out
