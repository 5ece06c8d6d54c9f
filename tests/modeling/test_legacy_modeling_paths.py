"""emmiai-noether 1.x code runs unchanged: its modeling import paths, call forms and public attributes.

The table is written from 1.x's ``noether.modeling`` packages (each module's public
names); the objects must be ours, identical whichever path names them.
"""

import importlib

import pytest
import torch

from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.contract import InputError
from noether.modeling.modules import (
    ContinuousSincosEmbed,
    JointAnchorAttention,
    PerceiverBlock,
    TransformerBlock,
    TransolverAttention,
    UnquantizedDropPath,
)

MODELING_PATHS_1X = {
    "noether.modeling.modules": [
        "Activation", "DotProductAttention", "PerceiverAttention", "TransolverAttention", "PerceiverBlock",
        "TransformerBlock", "DeepPerceiverDecoder", "SupernodePooling", "ContinuousSincosEmbed", "LayerScale",
        "LinearProjection", "UnquantizedDropPath", "UpActDownMlp", "MLP",
    ],
    "noether.modeling.modules.activations": ["Activation"],
    "noether.modeling.modules.attention": [
        "DotProductAttention", "PerceiverAttention", "TransolverAttention", "TransolverPlusPlusAttention",
        "ATTENTION_REGISTRY",
    ],
    "noether.modeling.modules.attention.dot_product": ["DotProductAttention"],
    "noether.modeling.modules.attention.perceiver": ["PerceiverAttention"],
    "noether.modeling.modules.attention.transolver": ["TransolverAttention"],
    "noether.modeling.modules.attention.transolver_plusplus": ["TransolverPlusPlusAttention"],
    "noether.modeling.modules.attention.anchor_attention": [
        "CrossAnchorAttention", "JointAnchorAttention", "MultiBranchAnchorAttention", "SelfAnchorAttention",
    ],
    "noether.modeling.modules.attention.anchor_attention.cross": ["CrossAnchorAttention"],
    "noether.modeling.modules.attention.anchor_attention.joint": ["JointAnchorAttention"],
    "noether.modeling.modules.attention.anchor_attention.self_anchor": ["SelfAnchorAttention"],
    "noether.modeling.modules.attention.anchor_attention.mixed": ["MixedAttention", "rope"],
    "noether.modeling.modules.attention.anchor_attention.multi_branch": [
        "MultiBranchAnchorAttention", "MissingBranchTokensError", "MissingAnchorTokenError", "UnexpectedTokenError",
    ],
    "noether.modeling.modules.blocks": ["PerceiverBlock", "TransformerBlock"],
    "noether.modeling.modules.blocks.perceiver": ["PerceiverBlock"],
    "noether.modeling.modules.blocks.transformer": ["TransformerBlock"],
    "noether.modeling.modules.decoders": ["DeepPerceiverDecoder"],
    "noether.modeling.modules.decoders.deep_perceiver": ["DeepPerceiverDecoder"],
    "noether.modeling.modules.encoders": ["SupernodePooling"],
    "noether.modeling.modules.encoders.supernode_pooling": ["SupernodePooling"],
    "noether.modeling.modules.layers": [
        "ContinuousSincosEmbed", "UnquantizedDropPath", "LayerScale", "LinearProjection", "RopeFrequency",
        "ScalarsConditioner", "TransformerBatchNorm",
    ],
    "noether.modeling.modules.layers.continuous_sincos_embed": ["ContinuousSincosEmbed"],
    "noether.modeling.modules.layers.drop_path": ["UnquantizedDropPath"],
    "noether.modeling.modules.layers.layer_scale": ["LayerScale"],
    "noether.modeling.modules.layers.linear_projection": ["LinearProjection"],
    "noether.modeling.modules.layers.rope_frequency": ["RopeFrequency"],
    "noether.modeling.modules.layers.scalar_conditioner": ["ScalarsConditioner"],
    "noether.modeling.modules.layers.transformer_batchnorm": ["TransformerBatchNorm"],
    "noether.modeling.modules.mlp": ["MLP", "UpActDownMlp"],
    "noether.modeling.modules.mlp.mlp": ["MLP"],
    "noether.modeling.modules.mlp.upactdown_mlp": ["UpActDownMlp"],
    "noether.modeling.functional.init": [
        "ALL_CONVS", "ALL_LAYERS", "init_bias_to_zero", "init_trunc_normal_zero_bias", "apply_init_method",
    ],
    "noether.modeling.functional.modulation": ["modulate_scale_shift", "modulate_gate"],
    "noether.modeling.functional.rope": ["rope"],
    "noether.modeling.functional.logscale": ["to_logscale", "from_logscale"],
}  # fmt: skip


def test_every_1x_modeling_path_resolves_to_one_object():
    seen: dict[str, object] = {}
    for path, names in MODELING_PATHS_1X.items():
        module = importlib.import_module(path)
        for name in names:
            obj = getattr(module, name)
            assert seen.setdefault(name, obj) is obj, (path, name)


def test_attention_registry_is_a_view_of_the_registry():
    from noether.modeling.modules.attention import ATTENTION_REGISTRY

    assert ATTENTION_REGISTRY["transolver"] is TransolverAttention
    assert {"dot_product", "perceiver", "transolver", "transolver_plusplus"} <= set(ATTENTION_REGISTRY)
    with pytest.raises(KeyError):
        ATTENTION_REGISTRY["nope"]


def test_anchor_errors_are_the_1x_classes():
    from noether.modeling.modules.attention.anchor_attention import multi_branch

    module = JointAnchorAttention({"hidden_dim": 8, "num_heads": 2, "branches": ["surface", "volume"]})
    x = torch.randn(1, 4, 8)
    cases = [
        (multi_branch.UnexpectedTokenError, [{"surface_anchors": 2}, {"volume_anchors": 1}, {"wing_queries": 1}]),
        (multi_branch.MissingBranchTokensError, [{"surface_anchors": 4}]),
        (multi_branch.MissingAnchorTokenError, [{"surface_anchors": 2}, {"volume_queries": 2}]),
    ]
    for error, specs in cases:
        with pytest.raises(error):
            module(x, specs)
        assert issubclass(error, ValueError)


def test_1x_subclass_overriding_create_attention_patterns_is_used():
    class QueriesToSurfaceAnchors(JointAnchorAttention):
        def _create_attention_patterns(self, token_specs):
            names = [spec.name for spec in token_specs]
            return [AttentionPattern(query_tokens=names, key_value_tokens=["surface_anchors"])]

    module = QueriesToSurfaceAnchors({"hidden_dim": 8, "num_heads": 2, "branches": ["surface", "volume"]}).eval()
    specs = [TokenSpec(name="surface_anchors", size=2), TokenSpec(name="volume_anchors", size=2)]
    x = torch.randn(1, 4, 8)
    out = module(x, specs)
    only_surface = module.mixed_attention(
        x,
        specs,
        [AttentionPattern(query_tokens=["surface_anchors", "volume_anchors"], key_value_tokens=["surface_anchors"])],
    )
    torch.testing.assert_close(out, only_surface)


def test_block_call_forms_of_1x_and_ours_agree():
    torch.manual_seed(0)
    anchor = {"attention_constructor": "joint_anchor", "attention_arguments": {"branches": ["surface", "volume"]}}
    config = {"hidden_dim": 8, "num_heads": 2, "mlp_expansion_factor": 2, "condition_dim": 3, **anchor}
    block = TransformerBlock(config).eval()
    torch.nn.init.normal_(block.modulation.project.weight)
    x, condition = torch.randn(2, 4, 8), torch.randn(2, 3)
    specs = [{"surface_anchors": 2}, {"volume_anchors": 2}]
    ours = block(x, token_specs=specs, condition=condition)
    with pytest.warns(DeprecationWarning, match=r"TransformerBlock: condition, attn_kwargs passed positionally \("
                                                r"emmiai-noether 1.x's form\); pass them by keyword"):  # fmt: skip
        torch.testing.assert_close(block(x, condition, {"token_specs": specs}), ours)
    with pytest.warns(DeprecationWarning, match="TransformerBlock: attn_kwargs is emmiai-noether 1.x's form"):
        torch.testing.assert_close(block(x, condition=condition, attn_kwargs={"token_specs": specs}), ours)
    with pytest.raises(AssertionError, match="token_specs given both as a keyword and in attn_kwargs"):
        block(x, None, {"token_specs": specs}, condition=condition, token_specs=specs)
    with pytest.raises(ValueError, match="condition given twice"):
        block(x, condition, condition=condition, token_specs=specs)
    with pytest.raises(InputError, match=r"TransformerBlock takes 1 positional input\(s\) \(x\) and 1.x's "
                                         r"condition, attn_kwargs after them; got 4 positional arguments"):  # fmt: skip
        block(x, condition, {}, specs)
    plain = TransformerBlock({"hidden_dim": 8, "num_heads": 2, "mlp_expansion_factor": 2}).eval()
    mask = torch.ones(4, 4, dtype=torch.bool).tril()
    torch.testing.assert_close(plain(x, None, {"attn_mask": mask}), plain(x, attn_mask=mask))
    with pytest.raises(ValueError, match=r"TransformerBlock: attn_kwargs holds kv_cach, which it does not take; "
                                         r"it takes attn_mask, condition, freqs, key_padding_mask$"):  # fmt: skip
        plain(x, None, {"kv_cach": 1})


def test_conditioned_perceiver_block_modulates_the_key_values():
    torch.manual_seed(0)
    block = PerceiverBlock({"hidden_dim": 8, "num_heads": 2, "mlp_expansion_factor": 2, "condition_dim": 3}).eval()
    assert block.modulation.project.weight.shape == (64, 3)  # 8 chunks of hidden: q, kv scale/shift, 2 gates, mlp
    torch.nn.init.normal_(block.modulation.project.weight)
    q, kv, condition = torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.randn(2, 3)
    mods = block.modulation(condition).chunk(8, dim=-1)

    def modulate(t, scale, shift):
        return t * (1 + scale[:, None]) + shift[:, None]

    attended = block.attn(modulate(block.norm1q(q), *mods[0:2]), modulate(block.norm1kv(kv), *mods[2:4]))
    x = q + mods[4][:, None] * block.ls1(attended)
    expected = x + mods[7][:, None] * block.ls2(block.mlp(modulate(block.norm2(x), *mods[5:7])))
    torch.testing.assert_close(block(q, kv, condition), expected)
    torch.testing.assert_close(block(q, kv, condition=condition), expected)


def test_public_attributes_of_1x():
    assert UnquantizedDropPath({"drop_prob": 0.25}).keep_prob == 0.75
    assert ContinuousSincosEmbed({"hidden_dim": 8, "input_dim": 2, "max_wavelength": 100}).max_wavelength == 100
    module = TransolverAttention({"hidden_dim": 8, "num_heads": 2, "num_slices": 3}).eval()
    x = torch.randn(2, 5, 8)
    slices, weights = module.create_slices(x, num_input_points=5)
    assert slices.shape == (2, 2, 3, 4)
    assert weights.shape == (2, 2, 5, 3)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 5))
    for name in ("LinearProjection", "MLP", "UpActDownMlp", "DotProductAttention"):
        assert callable(getattr(importlib.import_module("noether.modeling.modules"), name).reset_parameters)
