import typing

import pytest
import torch
from conftest import heads, merge, reference_attention

from noether.core.schemas import ValidationError
from noether.core.schemas.modules import AttentionConfig
from noether.core.types import InitWeightsMode
from noether.modeling.modules import (
    DotProductAttention,
    PerceiverAttention,
    RopeFrequency,
    RopeFrequencyConfig,
    TransolverAttention,
    TransolverPlusPlusAttention,
)
from noether.modeling.modules.layers import rope

D, H = 24, 3


def cfg(**kw):
    return {"hidden_dim": D, "num_heads": H, **kw}


def freqs_for(n, batch=2):
    return RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(torch.randn(batch, n, 3))


class TestDotProduct:
    def test_matches_reference_with_documented_layout(self):
        module = DotProductAttention(AttentionConfig(**cfg(init_weights="torch"))).eval()
        x = torch.randn(2, 7, D)
        sd = module.state_dict()
        q, k, v = heads(x @ sd["qkv.weight"].T + sd["qkv.bias"], 3, H)
        expected = merge(reference_attention(q, k, v)) @ sd["proj.weight"].T + sd["proj.bias"]
        torch.testing.assert_close(module(x), expected, atol=1e-5, rtol=1e-5)

    def test_mask_and_rope(self):
        module = DotProductAttention(cfg(use_rope=True, init_weights="torch")).eval()
        x, f = torch.randn(2, 6, D), freqs_for(6)
        valid = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
        mask = valid[:, None, None, :]
        sd = module.state_dict()
        q, k, v = heads(x @ sd["qkv.weight"].T + sd["qkv.bias"], 3, H)
        expected = merge(reference_attention(rope(q, f), rope(k, f), v, mask)) @ sd["proj.weight"].T + sd["proj.bias"]
        torch.testing.assert_close(module(x, attn_mask=mask, freqs=f), expected, atol=1e-5, rtol=1e-5)
        # masked-out keys have no influence
        changed = x.clone()
        changed[1, 4:] = 100.0
        torch.testing.assert_close(
            module(changed, attn_mask=mask, freqs=f)[1, :4], module(x, attn_mask=mask, freqs=f)[1, :4]
        )

    def test_qk_norm_is_layernorm_over_head_dim(self):
        module = DotProductAttention(cfg(qk_norm=True, init_weights="torch")).eval()
        assert set(module.state_dict()) == {
            "qkv.weight", "qkv.bias", "proj.weight", "proj.bias",
            "q_norm.weight", "q_norm.bias", "k_norm.weight", "k_norm.bias",
        }  # fmt: skip
        assert module.q_norm.normalized_shape == (D // H,)
        with torch.no_grad():
            module.q_norm.weight.fill_(2.0)
        x = torch.randn(1, 5, D)
        sd = module.state_dict()
        q, k, v = heads(x @ sd["qkv.weight"].T + sd["qkv.bias"], 3, H)
        q = torch.nn.functional.layer_norm(q, (D // H,)) * 2.0
        k = torch.nn.functional.layer_norm(k, (D // H,))
        expected = merge(reference_attention(q, k, v)) @ sd["proj.weight"].T + sd["proj.bias"]
        torch.testing.assert_close(module(x), expected, atol=1e-5, rtol=1e-5)

    def test_rope_mismatch_errors(self):
        with pytest.raises(ValueError, match=r"use_rope=True: pass freqs \(from RopeFrequency\)"):
            DotProductAttention(cfg(use_rope=True))(torch.randn(1, 4, D))
        with pytest.raises(ValueError, match="use_rope=False but got freqs"):
            DotProductAttention(cfg())(torch.randn(1, 4, D), freqs=freqs_for(4, 1))

    def test_input_shape_error(self):
        with pytest.raises(ValueError, match=r"x must have shape \(batch, tokens, width=24\), got \(2, 4, 12\)"):
            DotProductAttention(cfg())(torch.randn(2, 4, 12))

    def test_dropout_only_in_training(self):
        module = DotProductAttention(cfg(dropout=0.5))
        x = torch.randn(2, 8, D)
        module.eval()
        torch.testing.assert_close(module(x), module(x))
        module.train()
        assert not torch.allclose(module(x), module(x))


class TestPerceiver:
    def test_keys_and_reference(self):
        module = PerceiverAttention(cfg(kv_dim=10, init_weights="torch")).eval()
        sd = module.state_dict()
        assert {k: tuple(v.shape) for k, v in sd.items()} == {
            "kv.weight": (2 * D, 10), "kv.bias": (2 * D,), "q.weight": (D, D), "q.bias": (D,),
            "proj.weight": (D, D), "proj.bias": (D,),
        }  # fmt: skip
        q_in, kv_in = torch.randn(2, 5, D), torch.randn(2, 9, 10)
        (q,) = heads(q_in @ sd["q.weight"].T + sd["q.bias"], 1, H)
        k, v = heads(kv_in @ sd["kv.weight"].T + sd["kv.bias"], 2, H)
        expected = merge(reference_attention(q, k, v)) @ sd["proj.weight"].T + sd["proj.bias"]
        torch.testing.assert_close(module(q_in, kv_in), expected, atol=1e-5, rtol=1e-5)

    def test_kv_dim_defaults_to_hidden(self):
        assert PerceiverAttention(cfg()).kv.in_features == D

    def test_rope_on_both_sides(self):
        module = PerceiverAttention(cfg(use_rope=True)).eval()
        out = module(torch.randn(2, 5, D), torch.randn(2, 9, D), q_freqs=freqs_for(5), k_freqs=freqs_for(9))
        assert out.shape == (2, 5, D)
        with pytest.raises(ValueError, match="pass k_freqs"):
            module(torch.randn(2, 5, D), torch.randn(2, 9, D), q_freqs=freqs_for(5))

    def test_errors(self):
        module = PerceiverAttention(cfg(kv_dim=10))
        with pytest.raises(ValueError, match=r"kv must have shape \(batch=2, keys, kv_dim=10\), got \(2, 9, 24\)"):
            module(torch.randn(2, 5, D), torch.randn(2, 9, D))
        with pytest.raises(ValueError, match=r"kv must have shape \(batch=2, keys, kv_dim=10\), got \(3, 9, 10\)"):
            module(torch.randn(2, 5, D), torch.randn(3, 9, 10))
        with pytest.raises(ValueError, match="attn_mask must be a bool"):
            module(torch.randn(2, 5, D), torch.randn(2, 9, 10), attn_mask=torch.ones(2, 1, 1, 9, dtype=torch.long))


def transolver_reference(module, x, plusplus, mask=None):
    sd = module.state_dict()
    b, n, _ = x.shape
    d = D // H

    def lin(t, name):
        out = t @ sd[f"{name}.weight"].T
        return out + sd[f"{name}.bias"] if f"{name}.bias" in sd else out

    def split(t):
        return t.view(b, n, H, d).transpose(1, 2)

    if plusplus:
        feats = split(lin(x, "in_project_x"))
        hidden = torch.nn.functional.gelu(lin(feats, "proj_temperature.0.project"))
        temp = sd["bias"] + torch.nn.functional.gelu(lin(hidden, "proj_temperature.2.project"))  # as in 1.x
        weights = (lin(feats, "in_project_slice.project") / temp.clamp(min=0.01)).softmax(-1)
        fx = feats
    else:
        weights = (lin(split(lin(x, "in_project_x.project")), "in_project_slice.project") / sd["temperature"]).softmax(
            -1
        )
        fx = split(lin(x, "in_project_fx.project"))
    if mask is not None:
        weights = weights * mask[:, None, :, None]
    slices = torch.einsum("bhnd,bhng->bhgd", fx, weights) / (weights.sum(2)[..., None] + 1e-5)
    q, k, v = lin(slices, "qkv.project").chunk(3, -1)
    out = torch.einsum("bhgd,bhng->bhnd", reference_attention(q, k, v), weights)
    return lin(merge(out), "to_out.0.project" if plusplus else "proj.project")


class TestTransolver:
    def test_keys_shapes_and_reference(self):
        module = TransolverAttention(cfg(num_slices=6, init_weights="torch")).eval()
        d = D // H
        assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {
            "temperature": (1, H, 1, 1),
            "in_project_x.project.weight": (D, D), "in_project_x.project.bias": (D,),
            "in_project_fx.project.weight": (D, D), "in_project_fx.project.bias": (D,),
            "in_project_slice.project.weight": (6, d), "in_project_slice.project.bias": (6,),
            "qkv.project.weight": (3 * d, d),
            "proj.project.weight": (D, D), "proj.project.bias": (D,),
        }  # fmt: skip
        torch.testing.assert_close(module.temperature, torch.full((1, H, 1, 1), 0.5))
        x = torch.randn(2, 11, D)
        torch.testing.assert_close(module(x), transolver_reference(module, x, False), atol=1e-5, rtol=1e-5)

    def test_mask_removes_padding_tokens(self):
        module = TransolverAttention(cfg(num_slices=4)).eval()
        x = torch.randn(1, 9, D)
        mask = torch.tensor([[True] * 6 + [False] * 3])
        padded = x.clone()
        padded[:, 6:] = 50.0
        out = module(x, key_padding_mask=mask)
        torch.testing.assert_close(out[:, :6], module(padded, key_padding_mask=mask)[:, :6])
        torch.testing.assert_close(out[:, :6], module(x[:, :6]), atol=1e-5, rtol=1e-5)

    def test_mask_errors_and_rope(self):
        module = TransolverAttention(cfg(num_slices=4))
        message = r"key_padding_mask must be a bool tensor of shape \(batch, keys\) = \(1, 9\), True for real tokens"
        with pytest.raises(ValueError, match=message + r"; got torch.float32 \(1, 9\)"):
            module(torch.randn(1, 9, D), key_padding_mask=torch.ones(1, 9))
        with pytest.raises(ValueError, match="does not support use_rope"):
            TransolverAttention(cfg(use_rope=True))


class TestTransolverPlusPlus:
    def test_keys_shapes_and_reference(self):
        module = TransolverPlusPlusAttention(cfg(num_slices=6, init_weights="torch")).eval()
        d = D // H
        assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {
            "bias": (1, H, 1, 1),
            "proj_temperature.0.project.weight": (6, d), "proj_temperature.0.project.bias": (6,),
            "proj_temperature.2.project.weight": (1, 6), "proj_temperature.2.project.bias": (1,),
            "in_project_x.weight": (D, D), "in_project_x.bias": (D,),
            "in_project_slice.project.weight": (6, d), "in_project_slice.project.bias": (6,),
            "qkv.project.weight": (3 * d, d), "qkv.project.bias": (3 * d,),
            "to_out.0.project.weight": (D, D), "to_out.0.project.bias": (D,),
        }  # fmt: skip
        x = torch.randn(2, 11, D)
        torch.testing.assert_close(module(x), transolver_reference(module, x, True), atol=1e-5, rtol=1e-5)

    def test_gumbel_noise_only_in_training(self):
        module = TransolverPlusPlusAttention(cfg(num_slices=6))
        x = torch.randn(2, 11, D)
        module.eval()
        torch.testing.assert_close(module(x), module(x))
        module.train()
        assert not torch.allclose(module(x), module(x))
        plain = TransolverPlusPlusAttention(cfg(num_slices=6, use_gumbel_softmax=False)).train()
        torch.testing.assert_close(plain(x), plain(x))

    @pytest.mark.parametrize("activation", ["sigmoid", "softplus", "exp", None])
    def test_temperature_activation(self, activation):
        single = {"use_overparameterization": False}
        module = TransolverPlusPlusAttention(cfg(num_slices=6, temperature_activation=activation, **single)).eval()
        expected = {"sigmoid": "Sigmoid", "softplus": "Softplus", "exp": "Exp", None: "Identity"}[activation]
        assert type(module.proj_temperature[-1]).__name__ == expected
        assert module(torch.randn(1, 5, D)).shape == (1, 5, D)
        # Transolver++'s two-layer MLP ends in GELU whatever the option says, as in 1.x (which ignored it)
        mlp = TransolverPlusPlusAttention(cfg(num_slices=6, temperature_activation=activation))
        assert [type(m).__name__ for m in mlp.proj_temperature] == ["LinearProjection", "GELU"] * 2

    def test_in_project_x_keeps_its_bias_and_torch_init(self):
        """1.x's in_project_x is a plain nn.Linear: always a bias, PyTorch's init whatever init_weights says."""
        torch.manual_seed(0)
        module = TransolverPlusPlusAttention(cfg(num_slices=6, bias=False))
        torch.manual_seed(0)
        for shape in [(6, D // H), (1, 6)]:  # proj_temperature's linears come first, then in_project_x
            torch.nn.Linear(*reversed(shape), bias=False)
            torch.nn.init.trunc_normal_(torch.empty(shape), std=0.02)
        expected = torch.nn.Linear(D, D)
        torch.testing.assert_close(module.in_project_x.weight, expected.weight)
        torch.testing.assert_close(module.in_project_x.bias, expected.bias)

    def test_flags_change_structure(self):
        fixed = TransolverPlusPlusAttention(cfg(num_slices=6, use_adaptive_temperature=False))
        assert fixed.proj_temperature is None
        assert not any(k.startswith("proj_temperature") for k in fixed.state_dict())
        single = TransolverPlusPlusAttention(cfg(num_slices=6, use_overparameterization=False))
        assert tuple(single.state_dict()["proj_temperature.0.project.weight"].shape) == (1, D // H)
        assert "proj_temperature.2.project.weight" not in single.state_dict()
        x = torch.randn(1, 5, D)
        assert fixed.eval()(x).shape == single.eval()(x).shape == (1, 5, D)


ALL = [DotProductAttention, PerceiverAttention, TransolverAttention, TransolverPlusPlusAttention]


def run(module, x):
    return module(x, x) if isinstance(module, PerceiverAttention) else module(x)


@pytest.mark.parametrize("cls", ALL)
def test_backward_reaches_every_parameter(cls):
    module = cls(cfg(num_slices=4, qk_norm=True) if "Transolver" in cls.__name__ else cfg(qk_norm=True))
    x = torch.randn(2, 6, D, requires_grad=True)
    run(module, x).square().mean().backward()
    assert x.grad is not None
    assert x.grad.abs().sum() > 0
    missing = [name for name, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("cls", ALL)
def test_init_modes(cls):
    extra = {"num_slices": 4} if "Transolver" in cls.__name__ else {}
    identity = cls(cfg(init_weights="truncnormal002-identity", **extra)).eval()
    torch.testing.assert_close(run(identity, torch.randn(2, 6, D)), torch.zeros(2, 6, D))
    normal = cls(cfg(init_weights="truncnormal002", **extra))
    skip = ("norm", "in_project_x.weight", "in_project_slice") if cls is TransolverPlusPlusAttention else ("norm",)
    weights = [
        p
        for n, p in normal.named_parameters()
        if n.endswith("weight") and p.ndim == 2 and not any(s in n for s in skip)
    ]
    assert all(0.01 < w.std() < 0.03 and w.abs().max() < 0.2 for w in weights if w.numel() > 64)  # std 0.02
    biases = [p for n, p in normal.named_parameters() if n.endswith(".bias") and not n.startswith("in_project_x.")]
    assert all(torch.equal(p, torch.zeros_like(p)) for p in biases)
    for mode in typing.get_args(InitWeightsMode):  # every module supports every mode the config offers
        cls(cfg(init_weights=mode, **extra))
    with pytest.raises(ValidationError, match="init_weights"):
        cls(cfg(init_weights="torchs", **extra))


@pytest.mark.parametrize("cls", ALL)
def test_bias_false_removes_projection_biases(cls):
    extra = {"num_slices": 4} if "Transolver" in cls.__name__ else {}
    module = cls(cfg(bias=False, **extra))
    kept = ["in_project_x.bias"] if cls is TransolverPlusPlusAttention else []  # 1.x's layout
    assert [n for n in module.state_dict() if n.endswith(".bias") and n != "bias"] == kept


def test_generic_config_extras_are_checked_by_the_module_config():
    with pytest.raises(ValidationError) as info:
        TransolverAttention(AttentionConfig(hidden_dim=D, num_heads=H, num_slice=64))
    assert info.value.errors()[0]["loc"] == ("num_slice",)
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    module = TransolverAttention(AttentionConfig(hidden_dim=D, num_heads=H, num_slices=64))
    assert module.in_project_slice.project.out_features == 64
