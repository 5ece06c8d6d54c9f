"""Every attention module, block and stack compiles as one graph and equals eager, in eval and training,
with and without a KV cache; query chunks of a new size recompile once.

``fullgraph=True`` is decided by dynamo's tracing, the same whatever the backend, so the cases run on
``aot_eager`` (AOT autograd, no code generation); one smoke test, a transformer block in eval and in
training, runs inductor's code generation."""

import warnings

import pytest
import torch

from noether.modeling.modules import (
    CrossAnchorAttention,
    DotProductAttention,
    JointAnchorAttention,
    KVCache,
    MixedAttention,
    PerceiverAttention,
    PerceiverBlock,
    RopeFrequency,
    SelfAnchorAttention,
    TransformerBlock,
    TransformerStack,
    TransolverAttention,
    TransolverPlusPlusAttention,
)

pytestmark = pytest.mark.slow
D, H = 16, 2
BRANCHES = {"branches": ["surface", "volume"]}
SPECS = [("surface_anchors", 3), ("surface_queries", 2), ("volume_anchors", 2), ("volume_queries", 2)]
ANCHOR_BLOCK = {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "use_rope": True,
                "attention_constructor": "joint_anchor", "attention_arguments": BRANCHES}  # fmt: skip


def compiled_equals_eager(module, *args, backend="aot_eager", **kwargs):
    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend=backend)
    torch.testing.assert_close(compiled(*args, **kwargs), module(*args, **kwargs), atol=1e-5, rtol=1e-5)


def freqs(tokens, form="rotations"):
    """RoPE rotations in real numbers (what the models use), or in 1.x's complex form (``form="complex"``)."""
    rope = RopeFrequency({"hidden_dim": D // H, "input_dim": 3, "implementation": "complex"})
    coords = torch.randn(1, tokens, 3, generator=torch.Generator().manual_seed(2))
    return rope.rotations(coords) if form == "rotations" else rope(coords)


CASES = {
    DotProductAttention: ({}, ()),
    PerceiverAttention: ({"kv_dim": 6}, (torch.ones(1, 4, 6),)),
    TransolverAttention: ({"num_slices": 4}, ()),
    TransolverPlusPlusAttention: ({"num_slices": 4, "use_gumbel_softmax": False}, ()),
    MixedAttention: ({}, ([("a", 4), ("b", 5)], [(("a", "b"), ("a",))])),
    SelfAnchorAttention: (BRANCHES, (SPECS,)),
    CrossAnchorAttention: (BRANCHES, (SPECS,)),
    JointAnchorAttention: (BRANCHES, (SPECS,)),
}
"""Module -> (config options, the arguments after ``x``)."""


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("cls", list(CASES), ids=lambda cls: cls.__name__)
def test_attention_modules(cls, training):
    options, rest = CASES[cls]
    module = cls({"hidden_dim": D, "num_heads": H, **options}).train(training)
    compiled_equals_eager(module, torch.randn(1, 9, D), *rest)


@pytest.mark.parametrize("cls", list(CASES), ids=lambda cls: cls.__name__)
def test_attention_modules_with_masks(cls):
    options, rest = CASES[cls]
    module = cls({"hidden_dim": D, "num_heads": H, **options}).eval()
    keys = 4 if cls is PerceiverAttention else 9
    valid = torch.ones(1, keys, dtype=torch.bool)
    valid[0, 1] = False
    masks = {"key_padding_mask": valid}
    if not cls.__name__.startswith("Transolver"):
        masks["attn_mask"] = torch.ones(9, keys, dtype=torch.bool).tril()
    compiled_equals_eager(module, torch.randn(1, 9, D), *rest, **masks)


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_blocks_and_stack(training):
    x = torch.randn(1, 9, D)
    block = TransformerBlock(ANCHOR_BLOCK).train(training)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled_equals_eager(
            block, x, token_specs=SPECS, freqs=freqs(9), backend="inductor"
        )  # the smoke test of inductor
    assert not [w for w in caught if "complex" in str(w.message)]  # RoPE in real numbers: inductor generates it
    compiled_equals_eager(
        block, x, token_specs=SPECS, freqs=freqs(9, "complex")
    )  # 1.x's complex rotations still compile
    perceiver = PerceiverBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "condition_dim": 3})
    perceiver.train(training)
    compiled_equals_eager(perceiver, x, torch.randn(1, 4, D), condition=torch.randn(1, 3))
    stack = TransformerStack({"depth": 2, "block": {**ANCHOR_BLOCK, "use_rope": False}}).train(training)
    compiled_equals_eager(stack, x, token_specs=SPECS)


def test_kv_cache_writing_and_reading():
    block = TransformerBlock(ANCHOR_BLOCK).eval()
    x, f = torch.randn(1, 9, D), freqs(9)
    anchors = [("surface_anchors", 3), ("volume_anchors", 2)]
    cached = [("surface_anchors", None), ("volume_anchors", None), ("surface_queries", 4)]

    def anchors_then_queries(x, f):
        cache = KVCache()
        block(x[:, :5], token_specs=anchors, freqs=f[:, :5], kv_cache=cache)  # writes
        return block(x[:, 5:], token_specs=cached, freqs=f[:, 5:], kv_cache=cache)  # reads

    compiled_equals_eager(anchors_then_queries, x, f)
    one_shot = block(x, token_specs=[*anchors, ("surface_queries", 4)], freqs=f)
    torch.testing.assert_close(anchors_then_queries(x, f), one_shot[:, 5:], atol=1e-5, rtol=1e-5)


def test_query_chunks_of_a_new_size_recompile_once():
    stack = TransformerStack({"depth": 2, "block": {**ANCHOR_BLOCK, "use_rope": False}}).eval()
    cache = KVCache()
    stack(torch.randn(1, 5, D), token_specs=[("surface_anchors", 3), ("volume_anchors", 2)], kv_cache=cache)
    graphs = []

    def counting(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    compiled = torch.compile(stack, fullgraph=True, backend=counting)
    for size in (8, 8, 8, 5):  # full chunks and a last, shorter one
        specs = [("surface_anchors", None), ("volume_anchors", None), ("volume_queries", size)]
        x = torch.randn(1, size, D)
        torch.testing.assert_close(
            compiled(x, token_specs=specs, kv_cache=cache), stack(x, token_specs=specs, kv_cache=cache)
        )
    assert len(graphs) == 2  # the first size, then one graph with a dynamic size


GRAPHS: list[torch.fx.GraphModule] = []


@torch._dynamo.register_backend(name="noether_test_counting")
def _counting(gm, example_inputs):
    """Counts the graphs dynamo hands over and runs them as traced (``fullgraph`` is decided by tracing)."""
    GRAPHS.append(gm)
    return gm.forward


def test_streaming_compiles_one_graph_per_group_and_chunk_shape():
    from test_ab_upt import config, inputs, modulated

    from noether.modeling.models import AnchoredBranchedUPT
    from noether.modeling.streaming import stream_queries

    model = modulated(AnchoredBranchedUPT(config(conditioning={"velocity": 1, "yaw": 1}))).eval()
    data = inputs(conditioned=True)  # 9 surface and 13 volume query points: chunks of 4, 4, 1 and 4, 4, 4, 1
    eager = model.stream(**data, chunk_size=4)
    torch._dynamo.reset()
    GRAPHS.clear()
    for _ in range(2):  # the second stream reuses the graphs
        stats: dict[str, float] = {}
        out = model.stream(**data, chunk_size=4, compile="noether_test_counting", stats=stats)
        for name, value in eager.items():
            torch.testing.assert_close(out[name], value, atol=1e-5, rtol=1e-5)
        assert stats["chunks"] == 7
        assert len(GRAPHS) == 4  # surface and volume, each a full and a last chunk
    stack = TransformerStack({"depth": 2, "block": ANCHOR_BLOCK}).eval()
    anchors, queries = torch.randn(1, 5, D), {"surface_queries": torch.randn(1, 7, D)}
    anchor_specs = [("surface_anchors", 3), ("volume_anchors", 2)]
    rotations = {"surface_queries": freqs(7)}
    expected = stream_queries(stack, anchors, anchor_specs, queries, chunk_size=3, anchor_freqs=freqs(5),
                              query_freqs=rotations)  # fmt: skip
    GRAPHS.clear()
    out = stream_queries(stack, anchors, anchor_specs, queries, chunk_size=3, anchor_freqs=freqs(5),
                         query_freqs=rotations, compile="noether_test_counting")  # fmt: skip
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert len(GRAPHS) == 2  # chunks of 3, 3 and 1
    with pytest.raises(ValueError, match=r"compile must be True, False or a torch.compile backend \(.*inductor"):
        model.stream(**data, chunk_size=4, compile="inductr")


def test_many_models_stream_compiled_in_one_process():
    """Each model, branch and chunk shape is a graph of the same step: more than dynamo's default of 8."""
    from test_ab_upt import config, inputs

    from noether.modeling.models import AnchoredBranchedUPT

    data = inputs()
    torch._dynamo.reset()
    GRAPHS.clear()
    for seed in range(3):
        torch.manual_seed(seed)
        model = AnchoredBranchedUPT(config()).eval()
        eager = model.stream(**data, chunk_size=4)
        out = model.stream(**data, chunk_size=4, compile="noether_test_counting")
        for name, value in eager.items():
            torch.testing.assert_close(out[name], value, atol=1e-5, rtol=1e-5)
    assert len(GRAPHS) == 12  # 3 models x 2 branches x (full, last) chunks


@pytest.mark.parametrize("physics", [("perceiver", "shared", "cross", "joint"), ("perceiver", "dot_product")])
def test_ab_upt_forward_compiles_whole(physics):
    """One graph for the whole forward, the geometry's neighbour search included (given the batch size by
    the anchors, the pooling reads nothing from the data); the inputs' index ranges are checked eagerly."""
    from test_ab_upt import config, inputs, modulated

    from noether.modeling.models import AnchoredBranchedUPT

    model = modulated(AnchoredBranchedUPT(config(physics, conditioning={"velocity": 1, "yaw": 1}))).eval()
    data = inputs(conditioned=True)
    torch._dynamo.reset()
    GRAPHS.clear()
    compiled = torch.compile(model, fullgraph=True, backend="noether_test_counting")
    with torch.no_grad():
        eager, out = model(**data), compiled(**data)
    assert len(GRAPHS) == 1
    assert out.keys() == eager.keys()
    for name, value in eager.items():
        torch.testing.assert_close(out[name], value, atol=1e-5, rtol=1e-5)
