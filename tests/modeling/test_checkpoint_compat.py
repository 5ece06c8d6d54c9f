"""State dicts follow emmiai-noether 1.x: same keys and shapes for the same config, so its
checkpoints load with strict=True. The key tables below are that layout, written out; each
module must accept a state dict built from them alone and compute with it."""

import pytest
import torch

from noether.modeling.modules import (
    CrossAnchorAttention,
    DotProductAttention,
    JointAnchorAttention,
    MixedAttention,
    PerceiverAttention,
    SelfAnchorAttention,
    TransolverAttention,
    TransolverPlusPlusAttention,
)

D, H, d, G, KV = 24, 3, 8, 6, 10
QKV = {"qkv.weight": (3 * D, D), "qkv.bias": (3 * D,), "proj.weight": (D, D), "proj.bias": (D,)}
LAYOUTS = {
    DotProductAttention: QKV,
    MixedAttention: QKV,
    SelfAnchorAttention: {f"mixed_attention.{k}": v for k, v in QKV.items()},
    CrossAnchorAttention: {f"mixed_attention.{k}": v for k, v in QKV.items()},
    JointAnchorAttention: {f"mixed_attention.{k}": v for k, v in QKV.items()},
    PerceiverAttention: {
        "kv.weight": (2 * D, KV), "kv.bias": (2 * D,), "q.weight": (D, D), "q.bias": (D,),
        "proj.weight": (D, D), "proj.bias": (D,),
    },
    TransolverAttention: {
        "temperature": (1, H, 1, 1),
        "in_project_x.project.weight": (D, D), "in_project_x.project.bias": (D,),
        "in_project_fx.project.weight": (D, D), "in_project_fx.project.bias": (D,),
        "in_project_slice.project.weight": (G, d), "in_project_slice.project.bias": (G,),
        "qkv.project.weight": (3 * d, d),
        "proj.project.weight": (D, D), "proj.project.bias": (D,),
    },
    TransolverPlusPlusAttention: {
        "bias": (1, H, 1, 1),
        "proj_temperature.0.project.weight": (G, d), "proj_temperature.0.project.bias": (G,),
        "proj_temperature.2.project.weight": (1, G), "proj_temperature.2.project.bias": (1,),
        "in_project_x.weight": (D, D), "in_project_x.bias": (D,),
        "in_project_slice.project.weight": (G, d), "in_project_slice.project.bias": (G,),
        "qkv.project.weight": (3 * d, d), "qkv.project.bias": (3 * d,),
        "to_out.0.project.weight": (D, D), "to_out.0.project.bias": (D,),
    },
}  # fmt: skip
CONFIGS = {
    PerceiverAttention: {"kv_dim": KV},
    TransolverAttention: {"num_slices": G},
    TransolverPlusPlusAttention: {"num_slices": G},
    SelfAnchorAttention: {"branches": ["surface", "volume"]},
    CrossAnchorAttention: {"branches": ["surface", "volume"]},
    JointAnchorAttention: {"branches": ["surface", "volume"]},
}


def call(module, x):
    if isinstance(module, PerceiverAttention):
        return module(x, torch.linspace(-1, 1, x.shape[0] * 5 * KV).view(x.shape[0], 5, KV))
    if isinstance(module, MixedAttention):
        return module(x, [{"a": 3}, {"b": 4}], [{"query_tokens": ["a", "b"], "key_value_tokens": ["a"]}])
    if hasattr(module, "branches"):
        return module(x, [{"surface_anchors": 2}, {"surface_queries": 2}, {"volume_anchors": 2}, {"volume_queries": 1}])
    return module(x)


@pytest.mark.parametrize("cls", list(LAYOUTS), ids=lambda c: c.__name__)
def test_external_state_dict_loads_strict(cls):
    layout = LAYOUTS[cls]
    config = {"hidden_dim": D, "num_heads": H, **CONFIGS.get(cls, {})}
    module = cls(config).eval()
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == layout
    external = {key: torch.randn(shape) for key, shape in layout.items()}
    module.load_state_dict(external, strict=True)
    twin = cls({**config, "init_weights": "zeros"}).eval()
    twin.load_state_dict(external, strict=True)
    x = torch.randn(2, 7, D)
    torch.testing.assert_close(call(module, x), call(twin, x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", list(LAYOUTS), ids=lambda c: c.__name__)
def test_qk_norm_false_adds_no_keys(cls):
    config = {"hidden_dim": D, "num_heads": H, **CONFIGS.get(cls, {})}
    assert set(cls(config).state_dict()) == set(LAYOUTS[cls])
    added = set(cls({**config, "qk_norm": True}).state_dict()) - set(LAYOUTS[cls])
    prefix = "mixed_attention." if "mixed_attention.qkv.weight" in LAYOUTS[cls] else ""
    assert added == {f"{prefix}{norm}.{p}" for norm in ("q_norm", "k_norm") for p in ("weight", "bias")}
