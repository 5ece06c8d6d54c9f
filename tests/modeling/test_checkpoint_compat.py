"""Checkpoints of emmiai-noether 1.x load with strict=True and mean the same.

The builders below describe 1.x's state dicts (key -> shape) from a config, written
from 1.x's module code: which layers it creates, under which names, with which
widths. Each case builds such a state dict, loads it strictly into our module, and
checks that our module's own state dict has exactly that layout and that every
value it computes with comes from the checkpoint.
"""

import itertools

import pytest
import torch

from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.modules import (
    MLP,
    ContinuousSincosEmbed,
    CrossAnchorAttention,
    DotProductAttention,
    JointAnchorAttention,
    LayerScale,
    LinearProjection,
    MixedAttention,
    PerceiverAttention,
    PerceiverBlock,
    RopeFrequency,
    SelfAnchorAttention,
    TransformerBlock,
    TransolverAttention,
    TransolverPlusPlusAttention,
    UpActDownMlp,
)

Layout = dict[str, tuple[int, ...]]
D, H, G, KV, COND = 24, 3, 6, 10, 5


# -- 1.x's layouts ---------------------------------------------------------------------------------


def linear(name: str, fan_in: int, fan_out: int, bias: bool = True) -> Layout:
    return {f"{name}.weight": (fan_out, fan_in), **({f"{name}.bias": (fan_out,)} if bias else {})}


def layer_norm(name: str, dim: int, affine: bool = True, bias: bool = True) -> Layout:
    return {f"{name}.weight": (dim,), **({f"{name}.bias": (dim,)} if bias else {})} if affine else {}


def nested(prefix: str, layout: Layout) -> Layout:
    return {f"{prefix}.{k}": v for k, v in layout.items()}


def qk_norm(c: dict) -> Layout:  # not in 1.x: our option, two LayerNorms over head_dim
    d = c["hidden_dim"] // c["num_heads"]
    return layer_norm("q_norm", d) | layer_norm("k_norm", d) if c.get("qk_norm") else {}


def dot_product(c: dict) -> Layout:
    h, b = c["hidden_dim"], c.get("bias", True)
    return linear("qkv", h, 3 * h, b) | linear("proj", h, h, b) | qk_norm(c)


def perceiver(c: dict) -> Layout:
    h, b = c["hidden_dim"], c.get("bias", True)
    kv = c.get("kv_dim") or h
    return linear("kv", kv, 2 * h, b) | linear("q", h, h, b) | linear("proj", h, h, b) | qk_norm(c)


def anchor(c: dict) -> Layout:
    return nested("mixed_attention", dot_product(c))


def transolver(c: dict) -> Layout:
    h, b, g = c["hidden_dim"], c.get("bias", True), c.get("num_slices", 512)
    d = h // c["num_heads"]
    return (
        {"temperature": (1, c["num_heads"], 1, 1)}
        | linear("in_project_x.project", h, h, b)
        | linear("in_project_fx.project", h, h, b)
        | linear("in_project_slice.project", d, g, b)
        | linear("qkv.project", d, 3 * d, False)
        | linear("proj.project", h, h, b)
        | qk_norm(c)
    )


def transolver_plusplus(c: dict) -> Layout:
    h, b, g = c["hidden_dim"], c.get("bias", True), c.get("num_slices", 512)
    d = h // c["num_heads"]
    return (
        {"bias": (1, c["num_heads"], 1, 1)}
        | linear("proj_temperature.0.project", d, g, b)
        | linear("proj_temperature.2.project", g, 1, b)
        | linear("in_project_x", h, h)  # a plain nn.Linear in 1.x: always a bias
        | linear("in_project_slice.project", d, g, b)
        | linear("qkv.project", d, 3 * d, b)
        | linear("to_out.0.project", h, h, b)
        | qk_norm(c)
    )


ATTENTION = {"dot_product": dot_product, "perceiver": perceiver, "transolver": transolver,
             "transolver_plusplus": transolver_plusplus, "joint_anchor": anchor}  # fmt: skip


def block_tail(c: dict) -> Layout:
    h, b, conditioned = c["hidden_dim"], c.get("bias", True), c.get("condition_dim") is not None
    mlp = c.get("mlp_hidden_dim") or h * c["mlp_expansion_factor"]
    gamma = {"gamma": (h,)} if c.get("layerscale") is not None else {}
    return (
        nested("ls1", gamma)
        | layer_norm("norm2", h, not conditioned, b)
        | nested("mlp", linear("fc1", h, mlp, b) | linear("fc2", mlp, h, b))
        | nested("ls2", gamma)
    )


def modulation(c: dict, chunks: int) -> Layout:
    cond = c.get("condition_dim")
    return {} if cond is None else linear("modulation.project", cond, chunks * c["hidden_dim"])


def transformer_block(c: dict) -> Layout:
    h, b, conditioned = c["hidden_dim"], c.get("bias", True), c.get("condition_dim") is not None
    attention = {k: c[k] for k in ("hidden_dim", "num_heads", "bias") if k in c} | c.get("attention_arguments", {})
    name = c.get("attention_constructor", "dot_product")
    return (
        modulation(c, 6)
        | layer_norm("norm1", h, not conditioned, b)
        | nested("attention_block", ATTENTION[name](attention))
        | block_tail(c)
    )


def perceiver_block(c: dict) -> Layout:
    h, b, conditioned = c["hidden_dim"], c.get("bias", True), c.get("condition_dim") is not None
    attention = {k: c[k] for k in ("hidden_dim", "num_heads", "bias", "kv_dim") if k in c}
    return (
        modulation(c, 8)  # 1.x also scales and shifts the key/values
        | layer_norm("norm1q", h, not conditioned, b)
        | layer_norm("norm1kv", c.get("kv_dim") or h, not conditioned, b)
        | nested("attn", perceiver(attention))
        | block_tail(c)
    )


def wave_omega(c: dict) -> torch.Tensor:
    """1.x's frequencies, computed its way (float32, padding cut off per axis and for sin/cos)."""
    hidden, ndim = c["hidden_dim"], c["input_dim"]
    padding = hidden % ndim + ((hidden - hidden % ndim) // ndim % 2) * ndim
    per_wave = (hidden - padding) // ndim
    return 1.0 / c.get("max_wavelength", 10000) ** (torch.arange(0, per_wave, 2, dtype=torch.float32) / per_wave)


def sincos(c: dict) -> Layout:
    hidden, ndim = c["hidden_dim"], c["input_dim"]
    return {"omega": tuple(wave_omega(c).shape), "padding_tensor": (hidden % ndim + (hidden // ndim % 2) * ndim,)}


def mlp(prefix: str, dims: list[int]) -> Layout:
    out: Layout = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(dims)):
        out |= linear(f"{prefix}.{2 * i}", fan_in, fan_out)
    return out


def supernode_pooling(c: dict) -> Layout:  # abspos, mlp messages, the supernode position added back
    h = c["hidden_dim"]
    return (
        nested("pos_embed", sincos(c))
        | nested("message", linear("0.project", 2 * h, h) | linear("2.project", h, h))
        | linear("proj.project", 2 * h, h)
    )


def ab_upt(c: dict) -> Layout:
    h, block = c["hidden_dim"], c["transformer_block_config"]
    heads = {"hidden_dim": h // block["num_heads"], "input_dim": 3}
    physics = {"shared": "joint_anchor", "cross": "joint_anchor", "joint": "joint_anchor"}
    out = {"rope.omega": tuple(wave_omega(heads).shape)} | nested(
        "pos_embed", sincos({"hidden_dim": h, "input_dim": 3})
    )
    out |= nested("encoder", supernode_pooling(c["supernode_pooling_config"]))
    for i in range(c["geometry_depth"]):
        out |= nested(f"geometry_blocks.{i}", transformer_block(block))
    out |= nested("surface_bias", mlp("mlp", [h, h, h])) | nested("volume_bias", mlp("mlp", [h, h, h]))
    for i, name in enumerate(c["physics_blocks"]):
        layout = (perceiver_block(block) if name == "perceiver" else
                  transformer_block({**block, "attention_constructor": physics[name]}))  # fmt: skip
        out |= nested(f"physics_blocks.{i}", layout)
    for branch in ("surface", "volume"):
        for i in range(c[f"num_{branch}_blocks"]):
            out |= nested(
                f"{branch}_decoder_blocks.{i}", transformer_block({**block, "attention_constructor": "joint_anchor"})
            )
        out |= linear(f"{branch}_decoder.project", h, sum(c["data_specs"][f"{branch}_output_dims"].values()))
    return out


AB_UPT = {
    "hidden_dim": D, "geometry_depth": 1, "physics_blocks": ["perceiver", "shared", "cross", "joint"],
    "num_surface_blocks": 1, "num_volume_blocks": 2,
    "transformer_block_config": {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "use_rope": True},
    "supernode_pooling_config": {"hidden_dim": D, "input_dim": 3, "radius": 0.4},
    "data_specs": {"position_dim": 3, "surface_output_dims": {"pressure": 1, "wallshearstress": 3},
                   "volume_output_dims": {"velocity": 3}},
}  # fmt: skip

CASES = [
    (DotProductAttention, {"hidden_dim": D, "num_heads": H}, dot_product),
    (DotProductAttention, {"hidden_dim": D, "num_heads": H, "bias": False, "qk_norm": True}, dot_product),
    (DotProductAttention, {"hidden_dim": D, "num_heads": H, "use_rope": True}, dot_product),
    (MixedAttention, {"hidden_dim": D, "num_heads": H, "bias": False}, dot_product),
    (PerceiverAttention, {"hidden_dim": D, "num_heads": H, "kv_dim": KV}, perceiver),
    (PerceiverAttention, {"hidden_dim": D, "num_heads": H, "bias": False, "qk_norm": True}, perceiver),
    (TransolverAttention, {"hidden_dim": D, "num_heads": H, "num_slices": G}, transolver),
    (TransolverAttention, {"hidden_dim": D, "num_heads": H, "num_slices": G, "bias": False}, transolver),
    (TransolverPlusPlusAttention, {"hidden_dim": D, "num_heads": H, "num_slices": G}, transolver_plusplus),
    (TransolverPlusPlusAttention, {"hidden_dim": D, "num_heads": H, "num_slices": G, "bias": False},
     transolver_plusplus),
    *[(cls, {"hidden_dim": D, "num_heads": H, "branches": ["surface", "volume"], "qk_norm": qk}, anchor)
      for cls in (SelfAnchorAttention, CrossAnchorAttention, JointAnchorAttention) for qk in (False, True)],
    (TransformerBlock, {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 4}, transformer_block),
    (TransformerBlock, {"hidden_dim": D, "num_heads": H, "mlp_hidden_dim": 40, "bias": False, "layerscale": 1e-4,
                        "use_rope": True}, transformer_block),
    (TransformerBlock, {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "condition_dim": COND},
     transformer_block),
    (TransformerBlock, {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "bias": False,
                        "attention_constructor": "transolver_plusplus", "attention_arguments": {"num_slices": G}},
     transformer_block),
    (TransformerBlock, {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "condition_dim": COND,
                        "attention_constructor": "joint_anchor",
                        "attention_arguments": {"branches": ["surface", "volume"]}}, transformer_block),
    (PerceiverBlock, {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 4, "kv_dim": KV}, perceiver_block),
    (PerceiverBlock, {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 4, "condition_dim": COND,
                      "layerscale": 0.5}, perceiver_block),
    (PerceiverBlock, {"hidden_dim": D, "num_heads": H, "mlp_hidden_dim": 30, "bias": False}, perceiver_block),
    (LinearProjection, {"input_dim": 7, "output_dim": 5}, lambda c: linear("project", 7, 5)),
    (LinearProjection, {"input_dim": 7, "output_dim": 5, "ndim": 2, "bias": False},
     lambda c: {"project.weight": (5, 7, 1, 1)}),
    (LayerScale, {"hidden_dim": 7}, lambda c: {"gamma": (7,)}),
    (LayerScale, {"hidden_dim": 7, "init_values": None}, lambda c: {}),
    (UpActDownMlp, {"input_dim": 6, "hidden_dim": 10, "bias": False},
     lambda c: linear("fc1", 6, 10, False) | linear("fc2", 10, 6, False)),
    (MLP, {"input_dim": 4, "hidden_dim": 9, "output_dim": 2, "num_layers": 1},
     lambda c: linear("mlp.0", 4, 9) | linear("mlp.2", 9, 9) | linear("mlp.4", 9, 2)),
    (ContinuousSincosEmbed, {"hidden_dim": 20, "input_dim": 3}, sincos),
    (ContinuousSincosEmbed, {"hidden_dim": 22, "input_dim": 3}, sincos),
    (RopeFrequency, {"hidden_dim": 10, "input_dim": 3}, lambda c: {"omega": tuple(wave_omega(c).shape)}),
    (AnchoredBranchedUPT, AB_UPT, ab_upt),
]  # fmt: skip


def case_id(case: tuple) -> str:
    cls, config, _ = case
    options = ",".join(f"{k}={v}" for k, v in config.items() if k not in ("hidden_dim", "num_heads"))
    return f"{cls.__name__}[{options}]"


def example_call(module: torch.nn.Module, batch: int = 2) -> torch.Tensor:
    """Run ``module`` on fixed inputs (the same for a module and its twin)."""
    g = torch.Generator().manual_seed(7)
    name = type(module).__name__
    condition = torch.randn(batch, COND, generator=g) if getattr(module, "modulation", None) is not None else None
    if isinstance(module, AnchoredBranchedUPT):
        points = torch.rand(2 * 30, 3, generator=g)
        supernodes, batch_idx = torch.arange(0, 60, 3), torch.arange(2).repeat_interleave(30)
        out = module(points, supernodes, batch_idx, torch.rand(2, 6, 3, generator=g), torch.rand(2, 5, 3, generator=g),
                     query_surface_position=torch.rand(2, 4, 3, generator=g))  # fmt: skip
        return torch.cat([v.flatten() for v in out.values()])
    if isinstance(module, (ContinuousSincosEmbed, RopeFrequency)):
        out = module(torch.randn(batch, 5, module.input_dim, generator=g))
        return out if isinstance(out, torch.Tensor) else torch.cat(out, -1)
    if isinstance(module, (LinearProjection, UpActDownMlp, MLP, LayerScale)):
        width = {"LinearProjection": 7, "UpActDownMlp": 6, "MLP": 4, "LayerScale": 7}[name]
        conv = isinstance(module, LinearProjection) and module.project.weight.ndim == 4
        return module(torch.randn(*((batch, width, 3, 3) if conv else (batch, 3, width)), generator=g))
    x = torch.randn(batch, 7, D, generator=g)
    anchor_specs = [{"surface_anchors": 2}, {"surface_queries": 2}, {"volume_anchors": 2}, {"volume_queries": 1}]
    if isinstance(module, PerceiverBlock):
        kv = torch.randn(batch, 4, module.config.kv_dim or D, generator=g)
        return module(x, kv, condition)
    if isinstance(module, TransformerBlock):
        specs = anchor_specs if "anchor" in module.config.attention_constructor else None
        freqs = rope_for(7, batch) if module.config.use_rope else None
        return module(x, condition, {"token_specs": specs, "freqs": freqs})
    if isinstance(module, PerceiverAttention):
        return module(x, torch.randn(batch, 4, module.kv_dim, generator=g))
    if isinstance(module, MixedAttention):
        return module(x, [{"a": 3}, {"b": 4}], [{"query_tokens": ["a", "b"], "key_value_tokens": ["a"]}])
    if hasattr(module, "branches"):
        return module(x, anchor_specs)
    if getattr(module, "use_rope", False):
        return module(x, freqs=rope_for(7, batch))
    return module(x)


def rope_for(tokens: int, batch: int) -> torch.Tensor:
    coords = torch.randn(batch, tokens, 3, generator=torch.Generator().manual_seed(1))
    freqs = RopeFrequency({"hidden_dim": D // H, "input_dim": 3})(coords)
    return freqs


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_1x_state_dict_loads_strict_and_is_all_the_module_uses(case):
    cls, config, layout_of = case
    layout = layout_of(config)
    module = cls(config).eval()
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == layout
    checkpoint = {key: torch.randn(shape) for key, shape in layout.items()}
    for key in layout:  # nested buffers are fixed values (the layers' own cases check them against 1.x's)
        if key.endswith((".omega", ".padding_tensor")):
            checkpoint[key] = module.state_dict()[key]
    if "omega" in layout:  # buffers: 1.x's values, which ours must equal as they are
        checkpoint["omega"] = wave_omega(config)
        assert torch.equal(module.state_dict()["omega"], checkpoint["omega"])
        if "padding_tensor" in layout:
            checkpoint["padding_tensor"] = torch.zeros(layout["padding_tensor"])
    module.load_state_dict(checkpoint, strict=True)
    torch.manual_seed(1234)  # a twin with other random weights computes the same from the same checkpoint
    twin = cls(config).eval()
    twin.load_state_dict(checkpoint, strict=True)
    torch.testing.assert_close(example_call(module), example_call(twin), atol=1e-6, rtol=1e-6)


def test_sincos_padding_follows_1x():
    """1.x cuts the features that do not split evenly per axis, then one sin/cos pair per axis if odd."""
    module = ContinuousSincosEmbed({"hidden_dim": 22, "input_dim": 3})  # 1 + 3 padded: 3 frequencies per axis
    assert module.padding == 4
    assert module.max_wavelength == 10000
    out = module(torch.randn(4, 3))
    assert out.shape == (4, 22)
    assert torch.equal(out[:, 18:], torch.zeros(4, 4))
