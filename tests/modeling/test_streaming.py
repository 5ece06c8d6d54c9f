import pytest
import torch

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
        full = split(model(x, [{k: v} for k, v in SIZES.items()]))
    groups = split(x)
    anchors = torch.cat([groups["surface_anchors"], groups["volume_anchors"]], dim=1)
    out = stream_queries(
        model, anchors, [{"surface_anchors": 6}, {"volume_anchors": 5}],
        {"surface_queries": groups["surface_queries"], "volume_queries": groups["volume_queries"]},
        chunk_size=chunk, progress=False,
    )  # fmt: skip
    for name in ("surface_queries", "volume_queries"):
        torch.testing.assert_close(out[name], full[name], atol=1e-4, rtol=1e-4)


def test_rope_buffers_and_callback():
    model = stack(use_rope=True)
    coords = torch.randn(1, sum(SIZES.values()), 3)
    freqs = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(coords)
    x = torch.randn(1, sum(SIZES.values()), D)
    with torch.no_grad():
        full = split(model(x, [{k: v} for k, v in SIZES.items()], freqs=freqs))
    groups, fgroups = split(x), split(freqs)
    buffers = {name: torch.zeros(1, SIZES[name], D) for name in ("surface_queries", "volume_queries")}
    seen = []
    out = stream_queries(
        model, torch.cat([groups["surface_anchors"], groups["volume_anchors"]], 1),
        [{"surface_anchors": 6}, {"volume_anchors": 5}],
        {n: groups[n] for n in buffers}, chunk_size=10,
        anchor_freqs=torch.cat([fgroups["surface_anchors"], fgroups["volume_anchors"]], 1),
        query_freqs={n: fgroups[n] for n in buffers}, out=buffers, progress=False,
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
            h = layer(h, specs)
    groups = split(x)
    out = stream_queries(layers, torch.cat([groups["surface_anchors"], groups["volume_anchors"]], 1),
                         [{"surface_anchors": 6}, {"volume_anchors": 5}], {"volume_queries": groups["volume_queries"]},
                         chunk_size=4, progress=False)  # fmt: skip
    torch.testing.assert_close(out["volume_queries"], split(h)["volume_queries"], atol=1e-4, rtol=1e-4)


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        stream_queries(stack(), torch.randn(1, 11, D), [{"surface_anchors": 6}, {"volume_anchors": 5}], {},
                       chunk_size=0)  # fmt: skip
