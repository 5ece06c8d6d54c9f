"""Inputs with nothing to attend to, in another dtype, or under autocast: our errors or documented results."""

import pytest
import torch

from noether.modeling.modules import (
    DotProductAttention,
    JointAnchorAttention,
    MixedAttention,
    PerceiverAttention,
    TransformerBlock,
    TransolverAttention,
)

D, H = 8, 2
ANCHORS = {"hidden_dim": D, "num_heads": H, "branches": ["surface", "volume"]}


def test_empty_key_groups_and_empty_kv_are_errors_naming_the_groups():
    module = JointAnchorAttention(ANCHORS)
    specs = [("surface_anchors", 0), ("volume_anchors", 0), ("surface_queries", 4)]
    with pytest.raises(ValueError, match=r"key/value groups \['surface_anchors', 'volume_anchors'\] of attention "
                                         r"pattern 0 hold no tokens"):  # fmt: skip
        module(torch.randn(1, 4, D), token_specs=specs)
    with pytest.raises(ValueError, match="PerceiverAttention: kv has no tokens"):
        PerceiverAttention({"hidden_dim": D, "num_heads": H})(torch.randn(1, 3, D), torch.randn(1, 0, D))


def test_a_fully_masked_row_attends_to_nothing_and_returns_the_projection_bias():
    """Documented: SDPA gives such a row a zero attention output, so the module returns ``proj.bias``."""
    module = DotProductAttention({"hidden_dim": D, "num_heads": H}).eval()
    torch.nn.init.normal_(module.proj.bias)
    mask = torch.ones(1, 1, 3, 3, dtype=torch.bool)
    mask[..., 1, :] = False
    out = module(torch.randn(1, 3, D), attn_mask=mask)
    torch.testing.assert_close(out[0, 1], module.proj.bias)
    assert not torch.allclose(out[0, 0], module.proj.bias)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16, torch.int64])
def test_an_input_in_another_dtype_is_our_error_naming_both(dtype):
    for module in (DotProductAttention({"hidden_dim": D, "num_heads": H}),
                   TransolverAttention({"hidden_dim": D, "num_heads": H, "num_slices": 3})):  # fmt: skip
        expected = rf"x must hold float values, got {dtype}"
        if dtype.is_floating_point:
            expected = rf"x is {dtype}, the module's weights torch.float32; convert one of them, or run under torch"
        with pytest.raises(ValueError, match=expected):
            module(torch.ones(1, 3, D, dtype=dtype))


def test_bf16_autocast_on_cpu_runs_close_to_float32():
    torch.manual_seed(0)
    x = torch.randn(2, 7, D)
    specs = [("surface_anchors", 3), ("surface_queries", 1), ("volume_anchors", 2), ("volume_queries", 1)]
    block = {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "attention_constructor": "joint_anchor",
             "attention_arguments": {"branches": ["surface", "volume"]}}  # fmt: skip
    cases = [
        (DotProductAttention({"hidden_dim": D, "num_heads": H}).eval(), {}),
        (MixedAttention({"hidden_dim": D, "num_heads": H}).eval(),
         {"token_specs": [("a", 7)], "attention_patterns": [(("a",), ("a",))]}),
        (JointAnchorAttention(ANCHORS).eval(), {"token_specs": specs}),
        (TransformerBlock(block).eval(), {"token_specs": specs}),
    ]  # fmt: skip
    for module, kwargs in cases:
        reference = module(x, **kwargs)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = module(x, **kwargs)
            low_input = module(x.bfloat16(), **kwargs)  # inputs may already be bf16 under autocast
        # a block's residual stream keeps the input's dtype; attention outputs come out in bf16
        assert low.dtype == (torch.float32 if isinstance(module, TransformerBlock) else torch.bfloat16)
        torch.testing.assert_close(low.float(), reference, atol=0.05, rtol=0.05)
        torch.testing.assert_close(low_input.float(), reference, atol=0.05, rtol=0.05)
