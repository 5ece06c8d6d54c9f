"""The module contract: what a module declares is what its forward takes; one input-error class."""

import inspect
import pathlib

import pytest
import torch

import noether
from noether.modeling.contract import KEYWORDS, InputError, capabilities
from noether.modeling.modules import DeepPerceiverDecoder, PerceiverBlock, TransformerBlock, TransformerStack
from noether.registry import attention_registry, build_attention

D, H = 16, 2


def forward_parameters(module):
    """The forward's main tensors (positional) and its keywords, read from its signature."""
    parameters = inspect.signature(module.forward).parameters.values()  # through the 1.x adapter to the forward
    positional = tuple(p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD)
    return positional, {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}


@pytest.mark.parametrize("name", attention_registry.names())
def test_every_attention_declares_what_its_forward_takes(name):
    branches = {"branches": ["surface", "volume"]} if name.endswith("anchor") else {}
    module = build_attention({"attention": name, "hidden_dim": D, "num_heads": H, **branches})
    declared = capabilities(module)
    assert forward_parameters(module) == (declared.inputs, declared.accepts)
    assert declared.accepts <= KEYWORDS.keys()
    assert declared.needs_kv == (declared.inputs == ("q", "kv"))
    assert declared.can_prefill == callable(getattr(module, "prefill_kv", None))


def test_blocks_stacks_and_decoders_declare_what_they_pass_on():
    anchor = {"attention_constructor": "joint_anchor", "attention_arguments": {"branches": ["surface", "volume"]}}
    block = TransformerBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, **anchor})
    assert block.accepts == capabilities(block.attention_block).accepts | {"condition"}
    assert block.can_prefill
    plain = TransformerBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2})
    assert (plain.accepts, plain.can_prefill) == (frozenset({"attn_mask", "key_padding_mask", "freqs", "condition"}),
                                                  False)  # fmt: skip
    stack = TransformerStack({"depth": 2, "block": {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2,
                                                    **anchor}})  # fmt: skip
    assert capabilities(stack)[2:] == capabilities(block)[2:]
    perceiver = PerceiverBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2})
    assert capabilities(perceiver).inputs == forward_parameters(perceiver)[0] == ("q", "kv")
    assert perceiver.accepts == {"attn_mask", "key_padding_mask", "q_freqs", "k_freqs", "condition"}
    decoder = DeepPerceiverDecoder({"perceiver_block_config": {"hidden_dim": D, "num_heads": H,
                                                               "mlp_expansion_factor": 2}, "input_dim": D})  # fmt: skip
    assert forward_parameters(decoder) == (("kv", "queries"), set(decoder.accepts))


def test_input_errors_are_value_and_assertion_errors():
    module = build_attention({"attention": "dot_product", "hidden_dim": D, "num_heads": H})
    for caught in (ValueError, AssertionError, InputError):
        with pytest.raises(
            caught, match=r"DotProductAttention: x must have shape \(batch, tokens, width=16\), got \(2, 5\)"
        ):
            module(torch.randn(2, 5))


@pytest.mark.parametrize("mask", ["attn_mask", "key_padding_mask"])
def test_a_mask_on_another_device_is_refused_before_any_kernel(mask):
    module = build_attention({"attention": "dot_product", "hidden_dim": D, "num_heads": H})
    shape = (1, 1, 3, 3) if mask == "attn_mask" else (1, 3)
    with pytest.raises(InputError, match=rf"DotProductAttention: {mask} is on meta, the inputs on cpu; put it on cpu"):
        module(torch.randn(1, 3, D), **{mask: torch.ones(shape, dtype=torch.bool, device="meta")})


def test_capabilities_are_declared_not_inspected():
    root = pathlib.Path(noether.__file__).parent
    sources = [*root.glob("modeling/**/*.py"), *root.glob("cli/**/*.py")]
    assert sources
    assert [str(p) for p in sources if "inspect.signature" in p.read_text() or "import inspect" in p.read_text()] == []


def test_1x_positional_forms_are_adapted_with_one_warning_each():
    module = build_attention({"attention": "mixed", "hidden_dim": D, "num_heads": H}).eval()
    x, specs, patterns = torch.randn(1, 5, D), [("a", 5)], [(("a",), ("a",))]
    with pytest.warns(DeprecationWarning, match=r"MixedAttention: token_specs, attention_patterns passed "
                                                r"positionally \(emmiai-noether 1.x's form\); pass them by "
                                                r"keyword"):  # fmt: skip
        legacy = module(x, specs, patterns)
    torch.testing.assert_close(legacy, module(x, token_specs=specs, attention_patterns=patterns))
    with pytest.raises(InputError, match=r"MixedAttention takes 1 positional input\(s\) \(x\) and 1.x's "
                                         r"token_specs, attention_patterns, attention_mask, freqs, kv_cache after "
                                         r"them; got 7"):  # fmt: skip
        module(x, specs, patterns, None, None, None, None)
