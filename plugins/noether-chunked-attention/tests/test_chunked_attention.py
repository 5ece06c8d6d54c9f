import pytest
import torch
import torch.nn.functional as F
from noether_chunked_attention.module import ChunkedDotProductAttention

from noether.modeling.modules import DotProductAttention, RopeFrequency, RopeFrequencyConfig
from noether.registry import build_attention

D, H = 24, 3


def pair(chunk):
    reference = DotProductAttention({"hidden_dim": D, "num_heads": H, "use_rope": True}).eval()
    chunked = build_attention(
        {
            "attention": "chunked_dot_product",
            "hidden_dim": D,
            "num_heads": H,
            "use_rope": True,
            "query_chunk_size": chunk,
        }
    ).eval()
    chunked.load_state_dict(reference.state_dict(), strict=True)  # a dot_product checkpoint loads as is
    return reference, chunked


@pytest.mark.parametrize("chunk", [1, 4, 7, 64])
def test_equals_dot_product(chunk):
    reference, chunked = pair(chunk)
    assert isinstance(chunked, ChunkedDotProductAttention)
    x = torch.randn(2, 19, D)
    freqs = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(torch.randn(2, 19, 3))
    torch.testing.assert_close(chunked(x, freqs=freqs), reference(x, freqs=freqs), atol=1e-5, rtol=1e-5)


def test_masks_are_sliced_per_chunk(monkeypatch):
    reference, chunked = pair(5)
    x = torch.randn(2, 12, D)
    freqs = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(torch.randn(2, 12, 3))
    full = torch.rand(2, 1, 12, 12) > 0.3
    full[..., 0] = True  # every query sees at least one key
    valid = torch.ones(2, 12, dtype=torch.bool)
    valid[1, 9:] = False
    expected_full = reference(x, attn_mask=full, freqs=freqs)
    expected_valid = reference(x, attn_mask=valid[:, None, None, :], freqs=freqs)
    seen = []
    original = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention",
                        lambda q, k, v, attn_mask=None, **kw: seen.append(attn_mask.shape) or original(q, k, v, attn_mask, **kw))  # fmt: skip  # noqa: E501
    torch.testing.assert_close(chunked(x, attn_mask=full, freqs=freqs), expected_full, atol=1e-5, rtol=1e-5)
    assert seen == [torch.Size([2, 1, 5, 12]), torch.Size([2, 1, 5, 12]), torch.Size([2, 1, 2, 12])]
    seen.clear()
    padded = chunked(x, key_padding_mask=valid, freqs=freqs)
    torch.testing.assert_close(padded, expected_valid, atol=1e-5, rtol=1e-5)
    assert seen == [torch.Size([2, 1, 1, 12])] * 3  # the padding mask is shared by every chunk, not sliced
    torch.testing.assert_close(padded, reference(x, key_padding_mask=valid, freqs=freqs), atol=1e-5, rtol=1e-5)


def test_backward():
    _, chunked = pair(4)
    chunked.train()
    x = torch.randn(1, 10, D, requires_grad=True)
    freqs = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(torch.randn(1, 10, 3))
    chunked(x, freqs=freqs).sum().backward()
    assert all(p.grad is not None for p in chunked.parameters())
