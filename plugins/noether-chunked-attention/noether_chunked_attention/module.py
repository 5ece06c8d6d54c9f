import torch

from noether.modeling.modules.attention.dot_product.module import DotProductAttention
from noether.plugin import AttentionConfig, Freqs, sdpa_mask
from noether_chunked_attention.config import ChunkedDotProductAttentionConfig


class ChunkedDotProductAttention(DotProductAttention):
    """``DotProductAttention`` computed ``query_chunk_size`` queries at a time (same weights, same outputs).

    It inherits the contract declaration (``accepts``, 1.x's positional forms) with the forward it replaces.
    """

    def __init__(self, config: AttentionConfig) -> None:
        config = ChunkedDotProductAttentionConfig.coerce(config)
        super().__init__(config)
        self.query_chunk_size = config.query_chunk_size

    def forward(
        self,
        x: torch.Tensor,
        *,
        attn_mask: torch.Tensor | None = None,
        freqs: Freqs | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """As ``DotProductAttention``: the same masks, the same outputs."""
        self.check_input("x", x)
        self.check_freqs(freqs=(freqs, x))
        batch, tokens, _ = x.shape
        attn_mask = sdpa_mask(
            type(self).__name__, attn_mask, key_padding_mask, batch, self.num_heads, tokens, tokens, x.device
        )
        q, k, v = self.split_heads(self.qkv(x), 3)
        q = self.rotate(self.norm_q(q), freqs)
        k = self.rotate(self.norm_k(k), freqs)
        out = torch.empty_like(q)
        for start in range(0, q.shape[2], self.query_chunk_size):
            rows = slice(start, start + self.query_chunk_size)
            mask = None
            if attn_mask is not None:
                mask = attn_mask if attn_mask.shape[-2] == 1 else attn_mask[..., rows, :]
            out[:, :, rows] = self.attend(q[:, :, rows], k, v, mask)
        result: torch.Tensor = self.project_out(self.merge_heads(out))
        return result
