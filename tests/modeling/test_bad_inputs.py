"""Bad input at the boundary of every public module: one row per case, each refused by our error.

A row is a call with one argument spoiled (rank, width, batch, dtype, device, kind, emptiness,
index range), the exception it must raise, and the words its message must contain: the name
of the argument and what was received. The error must be raised by noether before any torch
kernel sees the input (its traceback ends in noether's code), and never be silent acceptance.
"""

import pathlib
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
import torch

import noether
from noether.modeling.contract import InputError
from noether.modeling.models.ab_upt.module import AnchoredBranchedUPT
from noether.modeling.modules import (
    CrossAnchorAttention,
    DeepPerceiverDecoder,
    DotProductAttention,
    JointAnchorAttention,
    MixedAttention,
    PerceiverAttention,
    PerceiverBlock,
    SelfAnchorAttention,
    SupernodePooling,
    TransformerBlock,
    TransformerStack,
    TransolverAttention,
    TransolverPlusPlusAttention,
)
from noether.modeling.modules.layers.rope_frequency.module import RopeFrequency

D, H, B = 16, 2, 2
ATT = {"hidden_dim": D, "num_heads": H}
BRANCHES = {"branches": ["surface", "volume"]}
SPECS = [("surface_anchors", 3), ("surface_queries", 2), ("volume_anchors", 2), ("volume_queries", 2)]
BLOCK = {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2}
ROOT = pathlib.Path(noether.__file__).parent


def rotations(tokens: int, batch: int = B) -> torch.Tensor:
    rope = RopeFrequency({"hidden_dim": D // H, "input_dim": 3, "implementation": "complex"})
    return rope.rotations(torch.randn(batch, tokens, 3))


class Call(NamedTuple):
    """A module, the call that works, and the roles of its tensor arguments (which spoils apply)."""

    module: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    roles: dict[str, str]
    """argument -> features (the batch comes from it) | batch (features held to that batch) | batchless |
    padding | attn_mask | rotations | index | condition."""


def ab_upt() -> AnchoredBranchedUPT:
    torch.manual_seed(0)
    specs = {"position_dim": 3, "surface_output_dims": {"pressure": 1}, "volume_output_dims": {"velocity": 3},
             "conditioning_dims": {"inflow": 2}}  # fmt: skip
    block = {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "use_rope": True}
    config = {"hidden_dim": D, "supernode_pooling_config": {"hidden_dim": D, "input_dim": 3, "radius": 0.5},
              "transformer_block_config": block, "geometry_depth": 1, "physics_blocks": ["perceiver", "joint"],
              "num_surface_blocks": 1, "num_volume_blocks": 1, "data_specs": specs}  # fmt: skip
    return AnchoredBranchedUPT(config).eval()


def calls() -> dict[str, Call]:
    torch.manual_seed(0)
    x = torch.randn(B, 5, D)
    anchors = torch.randn(B, 9, D)
    model = ab_upt()
    geometry = {"geometry_position": torch.rand(20, 3), "geometry_supernode_idx": torch.tensor([0, 3, 10, 13]),
                "geometry_batch_idx": torch.arange(20) // 10}  # fmt: skip
    ab_args = {**geometry, "surface_anchor_position": torch.rand(B, 4, 3),
               "volume_anchor_position": torch.rand(B, 3, 3), "inflow_design_parameters": torch.rand(B, 2),
               "query_surface_position": torch.rand(B, 2, 3), "query_volume_position": torch.rand(B, 2, 3)}  # fmt: skip
    ab_roles = {"geometry_position": "batchless", "geometry_supernode_idx": "index", "geometry_batch_idx": "index",
                "surface_anchor_position": "features", "volume_anchor_position": "batch",
                "inflow_design_parameters": "condition", "query_surface_position": "batch",
                "query_volume_position": "batch"}  # fmt: skip
    masks = {
        "attn_mask": torch.ones(1, 1, 5, 5, dtype=torch.bool),
        "key_padding_mask": torch.ones(B, 5, dtype=torch.bool),
    }
    anchor_masks = {"attn_mask": torch.ones(1, 1, 9, 9, dtype=torch.bool),
                    "key_padding_mask": torch.ones(B, 9, dtype=torch.bool)}  # fmt: skip
    mask_roles = {"attn_mask": "attn_mask", "key_padding_mask": "padding"}
    pooling = SupernodePooling({"hidden_dim": D, "input_dim": 3, "radius": 0.5})
    return {
        "DotProductAttention": Call(DotProductAttention(ATT), (x,), masks, {"x": "features", **mask_roles}),
        "DotProductAttention+rope": Call(DotProductAttention({**ATT, "use_rope": True}), (x,),
                                         {"freqs": rotations(5)}, {"x": "features", "freqs": "rotations"}),
        "PerceiverAttention": Call(PerceiverAttention({**ATT, "kv_dim": 6}), (x, torch.randn(B, 4, 6)),
                                   {"key_padding_mask": torch.ones(B, 4, dtype=torch.bool)},
                                   {"q": "features", "kv": "batch", "key_padding_mask": "padding"}),
        "TransolverAttention": Call(TransolverAttention({**ATT, "num_slices": 3}), (x,),
                                    {"key_padding_mask": masks["key_padding_mask"]},
                                    {"x": "features", "key_padding_mask": "padding"}),
        "TransolverPlusPlusAttention": Call(TransolverPlusPlusAttention({**ATT, "num_slices": 3}), (x,),
                                            {"key_padding_mask": masks["key_padding_mask"]},
                                            {"x": "features", "key_padding_mask": "padding"}),
        "MixedAttention": Call(MixedAttention(ATT), (x,),
                               {"token_specs": [("a", 2), ("b", 3)], "attention_patterns": [(("a", "b"), ("a",))],
                                **masks}, {"x": "features", **mask_roles}),
        "SelfAnchorAttention": Call(SelfAnchorAttention({**ATT, **BRANCHES}), (anchors,),
                                    {"token_specs": SPECS, **anchor_masks}, {"x": "features", **mask_roles}),
        "CrossAnchorAttention": Call(CrossAnchorAttention({**ATT, **BRANCHES}), (anchors,),
                                     {"token_specs": SPECS, **anchor_masks}, {"x": "features", **mask_roles}),
        "JointAnchorAttention": Call(JointAnchorAttention({**ATT, **BRANCHES, "use_rope": True}), (anchors,),
                                     {"token_specs": SPECS, "freqs": rotations(9), **anchor_masks},
                                     {"x": "features", "freqs": "rotations", **mask_roles}),
        "TransformerBlock": Call(TransformerBlock(BLOCK), (x,), masks, {"x": "features", **mask_roles}),
        "TransformerBlock+condition": Call(TransformerBlock({**BLOCK, "condition_dim": 3}), (x,),
                                           {"condition": torch.randn(B, 3)},
                                           {"x": "features", "condition": "condition"}),
        "TransformerBlock+anchors": Call(
            TransformerBlock({**BLOCK, "use_rope": True, "attention_constructor": "joint_anchor",
                              "attention_arguments": BRANCHES}), (anchors,),
            {"token_specs": SPECS, "freqs": rotations(9)}, {"x": "features", "freqs": "rotations"}),
        "PerceiverBlock": Call(PerceiverBlock({**BLOCK, "condition_dim": 3}), (x, torch.randn(B, 4, D)),
                               {"condition": torch.randn(B, 3)},
                               {"q": "features", "kv": "batch", "condition": "condition"}),
        "TransformerStack": Call(TransformerStack({"depth": 2, "block": BLOCK}), (x,),
                                 {"key_padding_mask": masks["key_padding_mask"]},
                                 {"x": "features", "key_padding_mask": "padding"}),
        "DeepPerceiverDecoder": Call(DeepPerceiverDecoder({"perceiver_block_config": BLOCK, "input_dim": D}),
                                     (torch.randn(B, 4, D), x), {}, {"kv": "features", "queries": "batch"}),
        "SupernodePooling": Call(pooling, (geometry["geometry_position"], geometry["geometry_supernode_idx"],
                                           geometry["geometry_batch_idx"]), {},
                                 {"input_pos": "batchless", "supernode_idx": "index", "batch_idx": "index"}),
        "AnchoredBranchedUPT": Call(model, (), ab_args, ab_roles),
        "AnchoredBranchedUPT.stream": Call(lambda **kw: model.stream(**kw, chunk_size=2), (), ab_args, ab_roles),
    }  # fmt: skip


def spoils(role: str, value: torch.Tensor) -> list[tuple[str, Any, str]]:
    """(case, spoiled value, words the message must contain besides the argument's name)."""
    shape = tuple(value.shape)
    out: list[tuple[str, Any, str]] = [
        ("a list", value.tolist(), "list"),
        ("on another device", value.to("meta"), "meta"),
        ("one dimension more", value.unsqueeze(0), str((1, *shape))),
    ]
    if role != "attn_mask":  # an attn_mask of lower rank broadcasts, as SDPA's does
        out.append(("one dimension fewer", value[..., 0], str(shape[:-1])))
    if role in ("features", "batch", "condition", "batchless"):
        out += [("float64", value.double(), "torch.float64"), ("bfloat16 outside autocast", value.bfloat16(),
                "torch.bfloat16")]  # fmt: skip
    if role in ("features", "batch", "condition", "rotations", "batchless"):
        out += [("int64", value.long(), "torch.int64"), ("bool", value.bool(), "torch.bool")]
        out.append(("one feature more", torch.cat([value, value[..., :1]], -1), str((*shape[:-1], shape[-1] + 1))))
    if role in ("batch", "condition", "rotations", "padding"):
        bigger = torch.cat([value, value[:1]], 0)
        out.append(("batch one more than the other inputs", bigger, str((shape[0] + 1, *shape[1:]))))
        if role != "rotations":  # rotations of batch 1 broadcast over the batch
            out.append(("a batch of one for a batch of two", value[:1], str((1, *shape[1:]))))
    if role == "padding":
        out += [("float", value.float(), "torch.float32"), ("one key more", torch.cat([value, value[:, :1]], 1),
                str((shape[0], shape[1] + 1)))]  # fmt: skip
    if role == "attn_mask":
        out += [("int64", value.long(), "torch.int64"), ("one key more", torch.cat([value, value[..., :1]], -1),
                str((*shape[:-1], shape[-1] + 1)))]  # fmt: skip
    if role == "index":
        out += [("float", value.float(), "torch.float32"), ("negative", value - 100, str(int(value.min()) - 100)),
                ("past the end", value + 1000, str(int(value.max()) + 1000))]  # fmt: skip
    return out


def rows() -> list[Any]:
    out = []
    for module_name, call in calls().items():
        names = list(call.roles)
        positional = [n for n in names if n not in call.kwargs][: len(call.args)]
        for argument, role in call.roles.items():
            good = call.kwargs[argument] if argument in call.kwargs else call.args[positional.index(argument)]
            for case, value, words in spoils(role, good):
                out.append(pytest.param(module_name, argument, value, words, id=f"{module_name}-{argument}-{case}"))
    return out


ROWS = rows()
CALLS = calls()


def test_the_table_has_at_least_400_rows():
    assert len(ROWS) >= 400


@pytest.mark.parametrize(("module_name", "argument", "value", "words"), ROWS)
def test_bad_input_is_refused_by_our_error(module_name, argument, value, words):
    call = CALLS[module_name]
    args, kwargs = list(call.args), dict(call.kwargs)
    if argument in kwargs:
        kwargs[argument] = value
    else:
        positional = [n for n in call.roles if n not in call.kwargs]
        args[positional.index(argument)] = value
    with torch.no_grad(), pytest.raises(InputError) as info:
        call.module(*args, **kwargs)
    message = str(info.value)
    assert argument in message
    assert words in message
    last = info.traceback[-1].path
    assert ROOT in pathlib.Path(last).parents, f"raised in {last}"


def test_the_good_calls_run():
    for name, call in CALLS.items():
        with torch.no_grad():
            out = call.module(*call.args, **call.kwargs)
        assert (len(out) if isinstance(out, dict) else out.numel()) > 0, name
