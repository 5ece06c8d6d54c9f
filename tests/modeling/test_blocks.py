import pytest
import torch
from torch import nn

from noether.core.schemas import ValidationError
from noether.core.schemas.modules import TransformerBlockConfig, UpActDownMLPConfig
from noether.modeling.modules import (
    MLP,
    ContinuousSincosEmbed,
    ContinuousSincosEmbeddingConfig,
    LayerScale,
    LayerScaleConfig,
    MLPConfig,
    PerceiverBlock,
    TransformerBlock,
    UnquantizedDropPath,
    UnquantizedDropPathConfig,
    UpActDownMlp,
)
from noether.registry import UnknownAttentionError, attention_registry

D, H = 24, 3
SPECS = [{"surface_anchors": 3}, {"surface_queries": 4}, {"volume_anchors": 2}, {"volume_queries": 5}]
JOINT = {"attention_constructor": "joint_anchor", "attention_arguments": {"branches": ["surface", "volume"]}}


def block(**kw):
    return {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, **kw}


class TestLayers:
    def test_mlp_structure_and_activations(self):
        mlp = MLP(MLPConfig(input_dim=3, hidden_dim=8, output_dim=2, num_layers=2, activation="SILU"))
        assert [type(m).__name__ for m in mlp.mlp] == ["Linear", "SiLU", "Linear", "SiLU", "Linear", "SiLU", "Linear"]
        assert mlp(torch.randn(5, 3)).shape == (5, 2)
        assert MLP(MLPConfig(input_dim=3, hidden_dim=8))(torch.randn(5, 3)).shape == (5, 3)
        with pytest.raises(ValidationError, match="Input should be 'GELU', 'TANH', 'SIGMOID', 'RELU', 'LEAKY_RELU'"):
            MLPConfig(input_dim=3, hidden_dim=8, activation="gelu")

    def test_up_act_down(self):
        mlp = UpActDownMlp(UpActDownMLPConfig(input_dim=4, hidden_dim=16, init_weights="torch"))
        x = torch.randn(2, 4)
        expected = mlp.fc2(nn.functional.gelu(mlp.fc1(x)))
        torch.testing.assert_close(mlp(x), expected)
        with pytest.raises(ValidationError, match=r"hidden_dim \(4\) must exceed input_dim \(4\)"):
            UpActDownMLPConfig(input_dim=4, hidden_dim=4)

    def test_layer_scale(self):
        assert LayerScale(LayerScaleConfig(hidden_dim=4, init_values=None)).gamma is None
        assert LayerScaleConfig(hidden_dim=4).init_values == 1e-5  # 1.x's default
        scale = LayerScale(LayerScaleConfig(hidden_dim=4, init_values=0.1))
        torch.testing.assert_close(scale(torch.ones(2, 4)), torch.full((2, 4), 0.1))
        assert set(scale.state_dict()) == {"gamma"}

    def test_drop_path_per_sample_and_scaled(self):
        drop = UnquantizedDropPath(UnquantizedDropPathConfig(drop_prob=0.5)).train()
        x = torch.ones(4000, 3, 2)
        out = drop(x)
        per_sample = out.flatten(1)
        assert set(per_sample.unique().tolist()) == {0.0, 2.0}
        assert (per_sample == per_sample[:, :1]).all()  # a whole sample is kept or dropped
        assert 0.45 < (per_sample[:, 0] > 0).float().mean() < 0.55
        assert drop.eval()(x) is x

    def test_sincos_embed(self):
        embed = ContinuousSincosEmbed(ContinuousSincosEmbeddingConfig(hidden_dim=14, input_dim=3, max_wavelength=100))
        coords = torch.tensor([[1.0, 2.0, 3.0]])
        out = embed(coords)
        assert out.shape == (1, 14)
        omega = torch.tensor([1.0, 0.1])  # 2 frequencies per axis: 100 ** (-0 / 2), 100 ** (-1 / 2)
        expected = torch.cat([torch.cat([(c * omega).sin(), (c * omega).cos()]) for c in (1.0, 2.0, 3.0)])
        torch.testing.assert_close(out[0, :12], expected)
        torch.testing.assert_close(out[0, 12:], torch.zeros(2))
        assert embed(torch.randn(2, 5, 3)).shape == (2, 5, 14)
        with pytest.raises(ValueError, match="expects 3-d coordinates, got 2"):
            embed(torch.randn(4, 2))


class TestTransformerBlock:
    def test_keys_plain(self):
        keys = {k: tuple(v.shape) for k, v in TransformerBlock(block()).state_dict().items()}
        assert keys == {
            "norm1.weight": (D,), "norm1.bias": (D,), "norm2.weight": (D,), "norm2.bias": (D,),
            "attention_block.qkv.weight": (3 * D, D), "attention_block.qkv.bias": (3 * D,),
            "attention_block.proj.weight": (D, D), "attention_block.proj.bias": (D,),
            "mlp.fc1.weight": (2 * D, D), "mlp.fc1.bias": (2 * D,), "mlp.fc2.weight": (D, 2 * D), "mlp.fc2.bias": (D,),
        }  # fmt: skip

    def test_keys_with_layerscale_and_condition(self):
        keys = set(TransformerBlock(block(layerscale=1e-4, condition_dim=5)).state_dict())
        assert {"ls1.gamma", "ls2.gamma", "modulation.project.weight", "modulation.project.bias"} <= keys
        assert not any(k.startswith(("norm1.", "norm2.")) for k in keys)
        module = TransformerBlock(block(condition_dim=5))
        assert tuple(module.modulation.project.weight.shape) == (6 * D, 5)

    def test_mlp_hidden_dim_wins(self):
        module = TransformerBlock(block(mlp_hidden_dim=40, mlp_expansion_factor=4))
        assert module.mlp.fc1.out_features == 40
        with pytest.raises(ValidationError, match="set mlp_hidden_dim or mlp_expansion_factor"):
            TransformerBlockConfig(hidden_dim=D, num_heads=H)

    def test_pre_norm_residuals(self):
        module = TransformerBlock(block(init_weights="torch")).eval()
        x = torch.randn(2, 6, D)
        h = x + module.attention_block(module.norm1(x))
        expected = h + module.mlp(module.norm2(h))
        torch.testing.assert_close(module(x), expected)

    def test_condition_is_zero_initialised_adaln(self):
        module = TransformerBlock(block(condition_dim=5, **JOINT)).eval()
        x, c = torch.randn(2, 14, D), torch.randn(2, 5)
        torch.testing.assert_close(module(x, token_specs=SPECS, condition=c), x)  # gates start at zero
        with torch.no_grad():
            module.modulation.project.bias.normal_()
        assert not torch.allclose(module(x, token_specs=SPECS, condition=c), x)
        with pytest.raises(ValueError, match="has condition_dim=5: pass condition"):
            module(x, token_specs=SPECS)
        with pytest.raises(ValueError, match="condition has 4 features, expected 5"):
            module(x, token_specs=SPECS, condition=torch.randn(2, 4))
        with pytest.raises(ValueError, match="got a condition but has no condition_dim"):
            TransformerBlock(block())(x, condition=c)

    def test_passes_token_specs_and_rejects_what_attention_cannot_take(self):
        module = TransformerBlock(block(**JOINT)).eval()
        assert module(torch.randn(1, 14, D), token_specs=SPECS).shape == (1, 14, D)
        with pytest.raises(
            ValueError, match="attention 'dot_product' \\(DotProductAttention\\) does not take token_specs"
        ):
            TransformerBlock(block())(torch.randn(1, 14, D), token_specs=SPECS)

    def test_mask_reaches_attention_under_its_own_name(self):
        module = TransformerBlock(block(attention_constructor="transolver", attention_arguments={"num_slices": 4}))
        mask = torch.ones(1, 6, dtype=torch.bool)
        mask[0, 4:] = False
        x = torch.randn(1, 6, D)
        out = module.eval()(x, key_padding_mask=mask)
        torch.testing.assert_close(out[:, :4], module(x[:, :4]), atol=1e-5, rtol=1e-5)

    def test_registered_attention_by_name(self):
        class Scale(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.weight = nn.Parameter(torch.full((config.hidden_dim,), config.factor))

            def forward(self, x):
                return x * self.weight

        from noether.core.schemas.modules import AttentionConfig

        with attention_registry.isolated():
            attention_registry.register("scale", Scale, AttentionConfig)
            module = TransformerBlock(block(attention_constructor="scale", attention_arguments={"factor": 2.0}))
            assert isinstance(module.attention_block, Scale)
            torch.testing.assert_close(module.attention_block.weight, torch.full((D,), 2.0))

    def test_unknown_attention_is_reported_when_built_not_when_loaded(self):
        config = TransformerBlockConfig(**block(attention_constructor="jiont_anchor"))  # inspecting needs no plugin
        with pytest.raises(
            UnknownAttentionError, match=r"unknown attention 'jiont_anchor'. Did you mean 'joint_anchor'"
        ):
            TransformerBlock(config)

    def test_attention_arguments_cannot_override_the_block(self):
        with pytest.raises(ValidationError) as info:
            TransformerBlockConfig(**block(attention_arguments={"hidden_dim": 64, "num_heads": 2}))
        assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
            (
                ("attention_arguments",),
                "hidden_dim, num_heads come from the block itself; set them on the block, not here",
            )
        ]

    def test_gradients_and_drop_path_in_eval(self):
        module = TransformerBlock(block(drop_path=0.5, layerscale=0.1, condition_dim=3, **JOINT))
        with torch.no_grad():
            module.modulation.project.bias.normal_()
        x = torch.randn(4, 14, D, requires_grad=True)
        module.train()(x, token_specs=SPECS, condition=torch.randn(4, 3)).square().sum().backward()
        assert all(p.grad is not None for p in module.parameters())
        assert x.grad is not None
        module.eval()
        c = torch.randn(4, 3)
        torch.testing.assert_close(module(x, token_specs=SPECS, condition=c), module(x, token_specs=SPECS, condition=c))


class TestPerceiverBlock:
    def test_keys(self):
        module = PerceiverBlock(block(kv_dim=7, layerscale=0.5))
        keys = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        assert keys["norm1kv.weight"] == (7,)
        assert keys["attn.kv.weight"] == (2 * D, 7)
        assert {"norm1q.weight", "attn.q.weight", "attn.proj.weight", "norm2.weight", "mlp.fc1.weight",
                "mlp.fc2.weight", "ls1.gamma", "ls2.gamma"} <= set(keys)  # fmt: skip

    def test_forward_and_residual(self):
        module = PerceiverBlock(block(kv_dim=7, init_weights="torch")).eval()
        q, kv = torch.randn(2, 5, D), torch.randn(2, 9, 7)
        h = q + module.attn(module.norm1q(q), module.norm1kv(kv))
        torch.testing.assert_close(module(q, kv), h + module.mlp(module.norm2(h)))
        mask = torch.ones(2, 1, 1, 9, dtype=torch.bool)
        assert module(q, kv, attn_mask=mask).shape == (2, 5, D)
