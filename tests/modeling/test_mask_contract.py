"""One mask contract: ``attn_mask`` as SDPA's, ``key_padding_mask`` (batch, keys) True for real tokens."""

import pytest
import torch

from noether.modeling.contract import InputError
from noether.modeling.modules import MixedAttention, PerceiverBlock, TransformerBlock
from noether.modeling.modules.attention.masks import sdpa_mask
from noether.registry import build_attention

D, H = 24, 3
SELF_ATTENTIONS = ["dot_product", "transolver", "transolver_plusplus"]
SIZES = {"surface_anchors": 5, "surface_queries": 4, "volume_anchors": 6, "volume_queries": 3}
SPECS = [(n, s) for n, s in SIZES.items()]
ANCHOR_ARGS = {"branches": ["surface", "volume"], "anchor_suffix": "_anchors"}


def build(name, **kw):
    args = {"num_slices": 4} if name.startswith("transolver") else {}
    return build_attention({"hidden_dim": D, "num_heads": H, **args, **kw}, name=name).eval()


@pytest.mark.parametrize("name", SELF_ATTENTIONS)
def test_padding_equals_leaving_the_padded_tokens_out(name):
    module = build(name)
    x = torch.randn(2, 9, D)
    valid = torch.ones(2, 9, dtype=torch.bool)
    valid[1, 6:] = False
    out = module(x, key_padding_mask=valid)
    torch.testing.assert_close(out[1, :6], module(x[1:, :6])[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[0], module(x[:1])[0], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match=rf"{type(module).__name__}: key_padding_mask must be a bool tensor of "
                                         r"shape \(batch, keys\) = \(2, 9\), True for real tokens; got torch.bool "
                                         r"\(2, 8\)"):  # fmt: skip
        module(x, key_padding_mask=valid[:, :8])


@pytest.mark.parametrize("name", ["transolver", "transolver_plusplus"])
def test_slice_attention_reads_the_1x_padding_form_with_a_warning_and_refuses_query_key_masks(name):
    module = build(name)
    x, valid = torch.randn(2, 9, D), torch.rand(2, 9) > 0.3
    owner = type(module).__name__
    with pytest.warns(DeprecationWarning, match=f"{owner}: attn_mask is emmiai-noether 1.x's name of key_padding_mask"):
        legacy = module(x, valid)
    torch.testing.assert_close(legacy, module(x, key_padding_mask=valid))
    with (
        pytest.warns(DeprecationWarning, match="pass key_padding_mask"),
        pytest.raises(InputError, match=r"key_padding_mask must be a bool tensor of shape \(batch, keys\) = "
                                        r"\(2, 9\), True for real tokens; got torch.bool \(2, 1, 9, 9\)"),
    ):  # fmt: skip
        module(x, attn_mask=torch.ones(2, 1, 9, 9, dtype=torch.bool))


def test_attn_mask_bool_and_additive_agree_and_combine_with_padding():
    module = build("dot_product")
    x = torch.randn(2, 7, D)
    allowed = torch.rand(2, 1, 7, 7) > 0.4
    allowed[..., 0] = True  # every query keeps a key
    additive = torch.zeros(2, 1, 7, 7).masked_fill(~allowed, float("-inf"))
    torch.testing.assert_close(module(x, attn_mask=allowed), module(x, attn_mask=additive))
    valid = torch.ones(2, 7, dtype=torch.bool)
    valid[0, 5:] = False
    both = allowed & valid[:, None, None, :]
    torch.testing.assert_close(module(x, attn_mask=allowed, key_padding_mask=valid), module(x, attn_mask=both))
    torch.testing.assert_close(module(x, attn_mask=additive, key_padding_mask=valid), module(x, attn_mask=both))
    with pytest.raises(ValueError, match=r"attn_mask must broadcast to \(batch, heads, queries, keys\) = "
                                         r"\(2, 3, 7, 7\), got \(2, 7\); for padding of whole tokens pass "
                                         r"key_padding_mask \(batch, keys\)"):  # fmt: skip
        module(x, attn_mask=valid)
    with pytest.raises(ValueError, match=r"attn_mask must be a bool .* or float .* tensor, got torch.int64"):
        module(x, attn_mask=allowed.long())


def test_merged_mask_is_what_sdpa_gets():
    allowed = torch.tensor([[True, False, True]])
    valid = torch.tensor([[True, True, False]])
    assert sdpa_mask("m", None, None, 1, 1, 1, 3) is None
    assert torch.equal(sdpa_mask("m", None, valid, 1, 1, 1, 3), valid[:, None, None, :])
    assert torch.equal(sdpa_mask("m", allowed, valid, 1, 1, 1, 3), torch.tensor([[[[True, False, False]]]]))
    additive = sdpa_mask("m", torch.zeros(1, 3), valid, 1, 1, 1, 3)
    assert additive.tolist() == [[[[0.0, 0.0, float("-inf")]]]]


def test_perceiver_pads_and_masks_its_kv():
    module = build("perceiver")
    q, kv = torch.randn(2, 4, D), torch.randn(2, 6, D)
    valid = torch.ones(2, 6, dtype=torch.bool)
    valid[1, 4:] = False
    out = module(q, kv, key_padding_mask=valid)
    torch.testing.assert_close(out[1], module(q[1:], kv[1:, :4])[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out, module(q, kv, attn_mask=valid[:, None, None, :]))
    with pytest.raises(ValueError, match=r"PerceiverAttention: key_padding_mask must be a bool tensor of shape "
                                         r"\(batch, keys\) = \(2, 6\)"):  # fmt: skip
        module(q, kv, key_padding_mask=valid[:, :4])


def joint_mask(allowed):
    """The patterns of joint anchor attention (everyone attends to the anchors) as one (tokens, tokens) mask."""
    names = [n for n, s in SIZES.items() for _ in range(s)]
    is_anchor = torch.tensor([n.endswith("_anchors") for n in names])
    return allowed & is_anchor[None, None, None, :]


def test_mixed_attention_cuts_attn_mask_per_pattern():
    """Mixed attention with an attn_mask equals dot-product attention (same weights) with the pattern's mask and it."""
    n = sum(SIZES.values())
    anchor = build("joint_anchor", **ANCHOR_ARGS)
    plain = build("dot_product")
    plain.load_state_dict(anchor.mixed_attention.state_dict())
    x = torch.randn(2, n, D)
    allowed = torch.rand(2, 1, n, n) > 0.3
    allowed[..., 0] = True
    valid = torch.ones(2, n, dtype=torch.bool)
    valid[1, 3:5] = False  # two surface anchors are padding
    expected = plain(x, attn_mask=joint_mask(allowed) & valid[:, None, None, :])
    torch.testing.assert_close(anchor(x, token_specs=SPECS, attn_mask=allowed, key_padding_mask=valid), expected)
    # several patterns batched into one SDPA call cut the mask the same way
    mixed = MixedAttention({"hidden_dim": D, "num_heads": H})
    mixed.load_state_dict(anchor.mixed_attention.state_dict())
    equal = [("a", 4), ("b", 4)]
    patterns = [(["a"], ["b"]), (["b"], ["a"])]
    x8, allowed8 = torch.randn(2, 8, D), torch.rand(1, 1, 8, 8) > 0.3
    allowed8[..., 0] = allowed8[..., 4] = True
    crossed = torch.zeros(8, 8, dtype=torch.bool)
    crossed[:4, 4:] = crossed[4:, :4] = True
    torch.testing.assert_close(
        mixed(x8, token_specs=equal, attention_patterns=patterns, attn_mask=allowed8),
        plain(x8, attn_mask=allowed8 & crossed),
    )


def test_mixed_attention_1x_keyword_and_cached_keys():
    mixed = build("mixed")
    x, valid = torch.randn(1, 8, D), torch.ones(1, 8, dtype=torch.bool)
    valid[0, 7] = False
    specs, patterns = [("a", 8)], [(["a"], ["a"])]
    with pytest.warns(DeprecationWarning, match="MixedAttention: attention_mask is emmiai-noether 1.x's name of"):
        legacy = mixed(x, token_specs=specs, attention_patterns=patterns, attention_mask=valid)
    torch.testing.assert_close(legacy, mixed(x, token_specs=specs, attention_patterns=patterns, key_padding_mask=valid))
    from noether.modeling.modules import KVCache

    cache = KVCache(mixed)
    mixed(x, token_specs=specs, attention_patterns=patterns, kv_cache=cache)
    with pytest.raises(ValueError, match=r"attn_mask covers the tokens of x, but the key groups \['a'\] come from "
                                         r"the kv_cache; mask padding with key_padding_mask"):  # fmt: skip
        mixed(
            x[:, :2],
            token_specs=[("a", None), ("q", 2)],
            attention_patterns=[(["q"], ["a"])],
            kv_cache=cache,
            attn_mask=torch.ones(2, 2) > 0,
        )


def test_one_pattern_over_all_tokens_in_order_writes_no_output_buffer(monkeypatch):
    mixed = build("mixed")
    x = torch.randn(2, 6, D)
    made = []
    original = torch.Tensor.new_empty
    monkeypatch.setattr(torch.Tensor, "new_empty", lambda self, *a, **k: made.append(a) or original(self, *a, **k))
    in_order = mixed(x, token_specs=[("a", 2), ("b", 4)], attention_patterns=[(["a", "b"], ["a", "b"])])
    assert made == []
    out_of_order = mixed(x, token_specs=[("a", 2), ("b", 4)], attention_patterns=[(["b", "a"], ["a", "b"])])
    assert made == [(2, 6, H, D // H)]
    torch.testing.assert_close(in_order, build_dot(mixed)(x))
    torch.testing.assert_close(out_of_order, in_order)


def build_dot(mixed):
    plain = build("dot_product")
    plain.load_state_dict(mixed.state_dict())
    return plain


@pytest.mark.parametrize("name", [*SELF_ATTENTIONS, "joint_anchor"])
def test_blocks_pass_both_masks_under_their_own_names(name):
    args = ANCHOR_ARGS if name == "joint_anchor" else {"num_slices": 4} if name.startswith("transolver") else {}
    block = TransformerBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2,
                              "attention_constructor": name, "attention_arguments": args}).eval()  # fmt: skip
    specs = {"token_specs": SPECS} if name == "joint_anchor" else {}
    n = sum(SIZES.values()) if specs else 9
    x = torch.randn(1, n, D)
    valid = torch.ones(1, n, dtype=torch.bool)
    valid[0, 3:5] = False
    padded = block(x, key_padding_mask=valid, **specs)
    changed = x.clone()
    changed[0, 3:5] = 1e3
    torch.testing.assert_close(block(changed, key_padding_mask=valid, **specs)[0, 5:], padded[0, 5:])
    if name.startswith("transolver"):
        with pytest.raises(InputError, match=rf"attention '{name}' \(\w+\) does not take attn_mask; "
                                             "it takes key_padding_mask"):  # fmt: skip
            block(x, attn_mask=torch.ones(1, 1, n, n, dtype=torch.bool))


def test_perceiver_block_passes_key_padding():
    block = PerceiverBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2}).eval()
    q, kv = torch.randn(1, 3, D), torch.randn(1, 5, D)
    valid = torch.tensor([[True, True, True, False, False]])
    torch.testing.assert_close(block(q, kv, key_padding_mask=valid), block(q, kv[:, :3]), atol=1e-5, rtol=1e-4)


def test_an_attention_without_the_keyword_is_named():
    from torch import nn

    from noether.modeling.modules.blocks.base import AttentionCall

    class Plain(nn.Module):
        accepts = frozenset({"freqs"})

        def forward(self, x, *, freqs=None):
            return x

    class Undeclared(nn.Module):
        def forward(self, x, *, freqs=None):
            return x

    call = AttentionCall("TransformerBlock", "plain", Plain())
    with pytest.raises(InputError, match=r"TransformerBlock: attention 'plain' \(Plain\) does not take "
                                         r"key_padding_mask; it takes freqs$"):  # fmt: skip
        call.kwargs({"key_padding_mask": torch.ones(1, 1), "freqs": None})
    assert call.kwargs({"freqs": 1, "key_padding_mask": None}) == {"freqs": 1}
    with pytest.raises(InputError, match=r"\(Undeclared\) does not take freqs; it takes no keywords$"):
        AttentionCall("TransformerBlock", "undeclared", Undeclared()).kwargs({"freqs": 1})
