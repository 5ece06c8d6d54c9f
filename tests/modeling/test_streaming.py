import sys

import pytest
import torch

from noether.cli.measure import tensor_peak
from noether.modeling.modules import RopeFrequency, RopeFrequencyConfig, TransformerStack
from noether.modeling.streaming import stream_queries

D, H = 24, 3
SIZES = {"surface_anchors": 6, "surface_queries": 23, "volume_anchors": 5, "volume_queries": 17}


def stack(constructor="joint_anchor", **block):
    config = {"depth": 3, "block": {"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2, "layerscale": 0.5,
                                    "attention_constructor": constructor,
                                    "attention_arguments": {"branches": ["surface", "volume"]}, **block}}  # fmt: skip
    return TransformerStack(config).eval()


def split(x):
    out, start = {}, 0
    for name, size in SIZES.items():
        out[name] = x[:, start : start + size]
        start += size
    return out


@pytest.mark.parametrize("constructor", ["joint_anchor", "self_anchor", "cross_anchor"])
@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_streaming_equals_one_shot(constructor, chunk):
    model = stack(constructor)
    x = torch.randn(2, sum(SIZES.values()), D)
    with torch.no_grad():
        full = split(model(x, token_specs=[{k: v} for k, v in SIZES.items()]))
    groups = split(x)
    anchors = torch.cat([groups["surface_anchors"], groups["volume_anchors"]], dim=1)
    out = stream_queries(
        model, anchors, [{"surface_anchors": 6}, {"volume_anchors": 5}],
        {"surface_queries": groups["surface_queries"], "volume_queries": groups["volume_queries"]},
        chunk_size=chunk, progress=False,
    )  # fmt: skip
    for name in ("surface_queries", "volume_queries"):
        torch.testing.assert_close(out[name], full[name], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("implementation", ["complex", "real"])
def test_rope_buffers_and_callback(implementation):
    model = stack(use_rope=True)
    coords = torch.randn(1, sum(SIZES.values()), 3)
    rope = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3, implementation=implementation))
    x = torch.randn(1, sum(SIZES.values()), D)
    with torch.no_grad():
        full = split(model(x, token_specs=[{k: v} for k, v in SIZES.items()], freqs=rope(coords)))
    groups, fgroups = split(x), split(coords)
    buffers = {name: torch.zeros(1, SIZES[name], D) for name in ("surface_queries", "volume_queries")}
    seen = []
    out = stream_queries(
        model, torch.cat([groups["surface_anchors"], groups["volume_anchors"]], 1),
        [{"surface_anchors": 6}, {"volume_anchors": 5}],
        {n: groups[n] for n in buffers}, chunk_size=10,
        anchor_freqs=rope(torch.cat([fgroups["surface_anchors"], fgroups["volume_anchors"]], 1)),
        query_freqs={n: rope(fgroups[n]) for n in buffers}, out=buffers, progress=False,
        on_chunk=lambda group, start, result: seen.append((group, start, result.shape[1])),
    )  # fmt: skip
    assert out["surface_queries"] is buffers["surface_queries"]
    for name in buffers:
        torch.testing.assert_close(buffers[name], full[name], atol=1e-4, rtol=1e-4)
    assert seen == [("surface_queries", 0, 10), ("surface_queries", 10, 10), ("surface_queries", 20, 3),
                    ("volume_queries", 0, 10), ("volume_queries", 10, 7)]  # fmt: skip


def test_module_list_of_attention_layers():
    from noether.modeling.modules import JointAnchorAttention

    layers = [JointAnchorAttention({"hidden_dim": D, "num_heads": H, "branches": ["surface", "volume"]}).eval()
              for _ in range(2)]  # fmt: skip
    x = torch.randn(1, sum(SIZES.values()), D)
    specs = [{k: v} for k, v in SIZES.items()]
    with torch.no_grad():
        h = x
        for layer in layers:
            h = layer(h, token_specs=specs)
    groups = split(x)
    out = stream_queries(layers, torch.cat([groups["surface_anchors"], groups["volume_anchors"]], 1),
                         [{"surface_anchors": 6}, {"volume_anchors": 5}], {"volume_queries": groups["volume_queries"]},
                         chunk_size=4, progress=False)  # fmt: skip
    torch.testing.assert_close(out["volume_queries"], split(h)["volume_queries"], atol=1e-4, rtol=1e-4)


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_size must be at least 1, got 0"):
        stream_queries(stack(), torch.randn(1, 11, D), [{"surface_anchors": 6}, {"volume_anchors": 5}], {},
                       chunk_size=0)  # fmt: skip


def anchors_and_queries(x):
    groups = split(x)
    anchors = torch.cat([groups["surface_anchors"], groups["volume_anchors"]], dim=1)
    return anchors, {"surface_queries": groups["surface_queries"], "volume_queries": groups["volume_queries"]}


ANCHOR_SPECS = [{"surface_anchors": 6}, {"volume_anchors": 5}]


@pytest.mark.parametrize("anchor_chunk", [1, 4, 11])
def test_anchor_chunks_and_condition(anchor_chunk):
    model = stack(condition_dim=4)
    for block in model.blocks:  # leave adaLN-Zero's zero init, so the condition matters
        torch.nn.init.normal_(block.modulation.project.weight, std=0.2)
    x, condition = torch.randn(2, sum(SIZES.values()), D), torch.randn(2, 4)
    with torch.no_grad():
        full = split(model(x, token_specs=[{k: v} for k, v in SIZES.items()], condition=condition))
    anchors, queries = anchors_and_queries(x)
    out = stream_queries(model, anchors, ANCHOR_SPECS, queries, chunk_size=5, anchor_chunk_size=anchor_chunk,
                         condition=condition, progress=False)  # fmt: skip
    for name in queries:
        torch.testing.assert_close(out[name], full[name], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match=r"per sample, \(batch, condition_dim\), to stream; got \(2, 1, 4\)"):
        stream_queries(model, anchors, ANCHOR_SPECS, queries, chunk_size=5, condition=condition[:, None])


def test_layers_that_cannot_prefill_run_the_anchors_in_one_forward():
    class Residual(torch.nn.Module):
        """An anchor-attention layer without prefill_kv."""

        def __init__(self):
            super().__init__()
            from noether.modeling.modules import JointAnchorAttention

            self.attention = JointAnchorAttention({"hidden_dim": D, "num_heads": H, "branches": ["surface", "volume"]})

        def forward(self, x, token_specs, kv_cache=None):
            return x + self.attention(x, token_specs=token_specs, kv_cache=kv_cache)

    layers = torch.nn.ModuleList([Residual(), Residual()]).eval()
    x = torch.randn(1, sum(SIZES.values()), D)
    with torch.no_grad():
        h = x
        for layer in layers:
            h = layer(h, [{k: v} for k, v in SIZES.items()])
    anchors, queries = anchors_and_queries(x)
    out = stream_queries(layers, anchors, ANCHOR_SPECS, queries, chunk_size=8, progress=False)
    torch.testing.assert_close(out["volume_queries"], split(h)["volume_queries"], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match=r"anchor_chunk_size needs layers that can prefill .* \['Residual'\] cannot"):
        stream_queries(layers, anchors, ANCHOR_SPECS, queries, chunk_size=8, anchor_chunk_size=4)
    with pytest.raises(ValueError, match="anchor_chunk_size must be at least 1, got 0"):
        stream_queries(stack(), anchors, ANCHOR_SPECS, queries, chunk_size=8, anchor_chunk_size=0)


def test_block_without_prefillable_attention():
    from noether.modeling.modules import KVCache, TransformerBlock

    block = TransformerBlock({"hidden_dim": D, "num_heads": H, "mlp_expansion_factor": 2,
                              "attention_constructor": "dot_product"})  # fmt: skip
    assert not block.can_prefill
    assert stack().blocks[0].can_prefill
    with pytest.raises(TypeError, match=r"attention 'dot_product' \(DotProductAttention\) cannot prefill a KV cache"):
        block.prefill_kv(torch.randn(1, 4, D), token_specs=[{"surface_anchors": 4}], kv_cache=KVCache())


def test_no_progress_bar_needs_no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # importing it now raises ImportError
    anchors, queries = anchors_and_queries(torch.randn(1, sum(SIZES.values()), D))
    out = stream_queries(stack(), anchors, ANCHOR_SPECS, queries, chunk_size=8, progress=False)
    assert out["surface_queries"].shape == (1, 23, D)
    with pytest.raises(ImportError):
        stream_queries(stack(), anchors, ANCHOR_SPECS, queries, chunk_size=8, progress=True)


def test_progress_shows_the_anchor_prefill_then_the_queries(capsys):
    pytest.importorskip("tqdm", reason="the progress bar needs tqdm")
    anchors, queries = anchors_and_queries(torch.randn(1, sum(SIZES.values()), D))
    stream_queries(stack(), anchors, ANCHOR_SPECS, queries, chunk_size=8, progress=True)
    err = capsys.readouterr().err
    assert "anchors into the KV cache: 100%" in err
    assert f"{len(stack())}/{len(stack())}" in err
    assert err.index("anchors into the KV cache") < err.index("queries: ")


def test_memory_is_the_cache_plus_one_chunk_whatever_the_query_count():
    model = stack()
    anchors = torch.randn(1, 11, D)
    peaks = {}
    for count in (64, 640):
        queries = {"volume_queries": torch.randn(1, count, D)}
        out = {"volume_queries": torch.empty(1, count, D)}
        kwargs = {"chunk_size": 16, "out": out, "progress": False}
        peaks[count] = tensor_peak(lambda q=queries, k=kwargs: stream_queries(model, anchors, ANCHOR_SPECS, q, **k))
    cache = 3 * 2 * 11 * D * 4  # keys and values of 11 anchors in 3 layers
    chunk = 16 * D * 4  # one chunk's hidden states
    assert peaks[64] == peaks[640]
    assert cache < peaks[64] <= cache + 16 * chunk  # the cache plus a few chunk-sized activations
    queries = {"volume_queries": torch.randn(1, 640, D)}
    returned = tensor_peak(lambda: stream_queries(model, anchors, ANCHOR_SPECS, queries, chunk_size=16, progress=False))
    assert returned == peaks[640] + 640 * D * 4  # the output, allocated once: no concatenation at the end


def test_a_stack_streams_block_by_block():
    from noether.modeling.streaming import layer_list

    model = stack()
    assert layer_list(model) == list(model.blocks)
    assert len(model) == 3
    single = model.blocks[0]
    assert layer_list(single) == [single]
