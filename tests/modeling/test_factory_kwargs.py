"""``device=`` and ``dtype=`` on every module constructor, as on torch's layers."""

import pytest
import torch

from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.modules import (
    MLP,
    ContinuousSincosEmbed,
    DeepPerceiverDecoder,
    DotProductAttention,
    JointAnchorAttention,
    LayerScale,
    LinearProjection,
    MixedAttention,
    PerceiverAttention,
    PerceiverBlock,
    RopeFrequency,
    ScalarsConditioner,
    SupernodePooling,
    TransformerBatchNorm,
    TransformerBlock,
    TransformerStack,
    TransolverAttention,
    TransolverPlusPlusAttention,
    UnquantizedDropPath,
    UpActDownMlp,
)

D, H = 16, 2
BLOCK = {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2}
BUILDS = {
    DotProductAttention: {"hidden_dim": D, "num_heads": H},
    PerceiverAttention: {"hidden_dim": D, "num_heads": H, "kv_dim": 6},
    TransolverAttention: {"hidden_dim": D, "num_heads": H, "num_slices": 3},
    TransolverPlusPlusAttention: {"hidden_dim": D, "num_heads": H, "num_slices": 3},
    MixedAttention: {"hidden_dim": D, "num_heads": H},
    JointAnchorAttention: {"hidden_dim": D, "num_heads": H, "branches": ["surface", "volume"]},
    TransformerBlock: {**BLOCK, "condition_dim": 3},
    PerceiverBlock: BLOCK,
    TransformerStack: {"depth": 2, "block": BLOCK},
    MLP: {"input_dim": D, "hidden_dim": 8, "output_dim": 4},
    UpActDownMlp: {"input_dim": D, "hidden_dim": 32},
    LinearProjection: {"input_dim": D, "output_dim": 4},
    LayerScale: {"hidden_dim": D},
    RopeFrequency: {"hidden_dim": D // H, "input_dim": 3},
    ContinuousSincosEmbed: {"hidden_dim": D, "input_dim": 3},
    ScalarsConditioner: {"hidden_dim": D, "num_scalars": 2},
    SupernodePooling: {"hidden_dim": D, "input_dim": 3, "radius": 0.5},
    DeepPerceiverDecoder: {"input_dim": 3, "perceiver_block_config": BLOCK, "depth": 2},
    AnchoredBranchedUPT: {
        "hidden_dim": D, "geometry_depth": 1, "physics_blocks": ["perceiver", "joint"], "num_surface_blocks": 1,
        "num_volume_blocks": 1, "transformer_block_config": {**BLOCK, "use_rope": True},
        "supernode_pooling_config": {"hidden_dim": D, "input_dim": 3, "radius": 0.5},
        "data_specs": {"position_dim": 3, "surface_output_dims": {"p": 1}, "volume_output_dims": {"v": 3}},
    },
}  # fmt: skip


class BatchNormArgs(dict):
    """TransformerBatchNorm takes torch's BatchNorm arguments, not a config."""


BUILDS[TransformerBatchNorm] = BatchNormArgs(num_features=D)


def make(cls, **factory):
    args = BUILDS[cls]
    return cls(**args, **factory) if isinstance(args, BatchNormArgs) else cls(args, **factory)


def tensors(module):
    return [*module.parameters(), *module.buffers()]


@pytest.mark.parametrize("cls", list(BUILDS), ids=lambda cls: cls.__name__)
def test_every_module_is_made_on_the_device_and_in_the_dtype_asked_for(cls):
    on_meta = make(cls, device="meta")
    assert tensors(on_meta)
    assert all(t.device.type == "meta" for t in tensors(on_meta))
    torch.manual_seed(0)
    wide = make(cls, dtype=torch.float64)
    torch.manual_seed(0)
    plain = make(cls)
    assert {t.dtype for t in tensors(wide) if t.is_floating_point()} <= {torch.float64}
    assert [name for name, _ in wide.named_parameters()] == [name for name, _ in plain.named_parameters()]
    for (name, a), b in zip(wide.state_dict().items(), plain.state_dict().values(), strict=True):
        assert torch.equal(a, b.to(a.dtype)), name  # the same draws, then cast


def test_a_float64_module_runs_in_float64_and_equals_a_cast_one():
    torch.manual_seed(0)
    module = TransformerBlock(BLOCK, dtype=torch.float64).eval()
    torch.manual_seed(0)
    cast = TransformerBlock(BLOCK).double().eval()
    x = torch.randn(2, 5, D, dtype=torch.float64)
    out = module(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, cast(x), rtol=0, atol=0)


def test_a_dtype_that_is_not_floating_point_is_refused():
    with pytest.raises(
        ValueError, match=r"DotProductAttention: dtype must be a floating-point dtype, got torch\.int64"
    ):
        DotProductAttention(BUILDS[DotProductAttention], dtype=torch.int64)


def test_an_input_on_another_device_is_our_error_naming_both():
    module = DotProductAttention(BUILDS[DotProductAttention], device="meta")
    with pytest.raises(ValueError, match=r"DotProductAttention: x is on cpu, the module on meta; put it on meta"):
        module(torch.randn(1, 3, D))
    assert module(torch.randn(1, 3, D, device="meta")).device.type == "meta"


def test_a_module_without_tensors_takes_the_keywords_too():
    drop = UnquantizedDropPath({"drop_prob": 0.1}, device="meta", dtype=torch.float64)
    assert tensors(drop) == []
    assert drop.drop_prob == 0.1
