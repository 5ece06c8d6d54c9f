import pytest
import torch
from noether_linear_attention.config import LinearAttentionConfig
from noether_linear_attention.module import LinearAttention

from noether.core.schemas import ValidationError
from noether.registry import attention_registry, build_attention

D, H = 24, 3


def reference(module, x, mask=None):
    """Quadratic form of the same attention: softmax replaced by normalised phi(q)·phi(k)."""
    sd = module.state_dict()
    b, n, _ = x.shape
    q, k, v = (x @ sd["qkv.weight"].T + sd["qkv.bias"]).view(b, n, 3, H, D // H).permute(2, 0, 3, 1, 4)
    phi = lambda t: torch.nn.functional.elu(t) + 1  # noqa: E731
    scores = phi(q) @ phi(k).transpose(-1, -2)
    if mask is not None:
        scores = scores * mask[:, None, None, :]
    out = (scores / (scores.sum(-1, keepdim=True) + module.eps)) @ v
    return out.transpose(1, 2).reshape(b, n, D) @ sd["proj.weight"].T + sd["proj.bias"]


def test_matches_quadratic_reference():
    module = LinearAttention(LinearAttentionConfig(hidden_dim=D, num_heads=H, init_weights="torch")).eval()
    x = torch.randn(2, 9, D)
    torch.testing.assert_close(module(x), reference(module, x), atol=1e-5, rtol=1e-4)


def test_padding_mask():
    module = LinearAttention(LinearAttentionConfig(hidden_dim=D, num_heads=H, init_weights="torch")).eval()
    x = torch.randn(2, 9, D)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 6:] = False
    out = module(x, key_padding_mask=mask)
    torch.testing.assert_close(out, reference(module, x, mask.float()), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[1, :6], module(x[1:, :6])[0], atol=1e-5, rtol=1e-4)
    with pytest.warns(DeprecationWarning, match="LinearAttention: attn_mask is emmiai-noether 1.x's name of"):
        torch.testing.assert_close(module(x, mask), out)  # the earlier positional form
    with (
        pytest.warns(DeprecationWarning, match="pass key_padding_mask"),
        pytest.raises(AssertionError, match="key_padding_mask must be a bool"),
    ):
        module(x, attn_mask=mask[:, None, None, :])  # no query-key scores for an SDPA mask to act on


@pytest.mark.parametrize("feature_map", ["elu", "relu", "softplus"])
def test_feature_maps_and_backward(feature_map):
    module = LinearAttention(LinearAttentionConfig(hidden_dim=D, num_heads=H, feature_map=feature_map))
    x = torch.randn(2, 5, D, requires_grad=True)
    module(x).sum().backward()
    assert x.grad is not None
    assert all(p.grad is not None for p in module.parameters())


def test_linear_cost():
    module = LinearAttention(LinearAttentionConfig(hidden_dim=D, num_heads=H)).eval()
    with torch.no_grad():
        assert module(torch.randn(1, 200_000, D)).shape == (1, 200_000, D)  # N^2 scores would need 480 GB


def test_config_errors():
    with pytest.raises(ValidationError, match="does not support use_rope"):
        LinearAttentionConfig(hidden_dim=D, num_heads=H, use_rope=True)
    with pytest.raises(ValidationError, match="Input should be 'elu', 'relu' or 'softplus'"):
        LinearAttentionConfig(hidden_dim=D, num_heads=H, feature_map="tanh")


def test_found_by_name_through_the_entry_point():
    module = build_attention({"attention": "linear", "hidden_dim": D, "num_heads": H})
    assert type(module) is LinearAttention
    row = next(r for r in attention_registry.rows() if r.name == "linear")
    assert (row.source, row.status) == ("noether-linear-attention", "ok")
    assert row.config_path == "noether_linear_attention.config:LinearAttentionConfig"


def test_takes_device_and_dtype_like_every_noether_module():
    """The plugin writes no code for it: modules built on MultiHeadAttentionBase get ``device=``/``dtype=``."""
    config = LinearAttentionConfig(hidden_dim=D, num_heads=H)
    assert {p.device.type for p in LinearAttention(config, device="meta").parameters()} == {"meta"}
    module = LinearAttention(config, dtype=torch.float64).eval()
    assert {p.dtype for p in module.parameters()} == {torch.float64}
    assert module(torch.randn(1, 5, D, dtype=torch.float64)).dtype == torch.float64
