import pytest

pytest.importorskip("torch", reason="needs PyTorch: pip install torch (see the README)")

import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def reference_attention(q, k, v, mask=None):
    """Softmax attention written out, independent of F.scaled_dot_product_attention."""
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1) @ v


def heads(t, parts, num_heads):
    """(b, n, parts * hidden) with features laid out (part, head, head_dim) -> parts x (b, h, n, d)."""
    b, n, _ = t.shape
    return t.view(b, n, parts, num_heads, -1).permute(2, 0, 3, 1, 4)


def merge(t):
    b, h, n, d = t.shape
    return t.transpose(1, 2).reshape(b, n, h * d)
