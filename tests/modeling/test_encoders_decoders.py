"""Supernode pooling, neighbour search, the deep Perceiver decoder, the scalar conditioner and batch norm,
each against an independent computation written out here."""

import itertools

import pytest
import torch
from torch import nn

from noether.core.schemas import ValidationError
from noether.modeling.functional.geometric import knn, radius
from noether.modeling.modules import (
    DeepPerceiverDecoder,
    PerceiverBlock,
    ScalarsConditioner,
    SupernodePooling,
    TransformerBatchNorm,
)


def brute_radius(x, y, r, cap, batch_x, batch_y):
    edges = []
    for i, j in itertools.product(range(len(y)), range(len(x))):
        if batch_x[j] == batch_y[i] and (x[j] - y[i]).norm() <= r:
            edges.append((i, j))
    kept = []
    for i in range(len(y)):  # the lowest-index neighbours when capped
        kept += [e for e in edges if e[0] == i][:cap]
    return kept


def cloud(points=40, samples=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(points, 3, generator=g)
    batch = torch.arange(samples).repeat_interleave(points // samples)
    return x, batch


class TestNeighbours:
    @pytest.mark.parametrize("block_size", [None, 1, 7])
    def test_radius_equals_brute_force(self, block_size):
        x, batch = cloud()
        supernodes = torch.tensor([0, 3, 9, 20, 25, 33])
        y, batch_y = x[supernodes], batch[supernodes]
        edges = radius(x, y, 0.45, 5, batch, batch_y, block_size=block_size)
        assert [tuple(e) for e in edges.T.tolist()] == brute_radius(x, y, 0.45, 5, batch, batch_y)

    def test_radius_without_cap_or_batch(self):
        x, _ = cloud(12)
        edges = radius(x, x[:3], 0.6)
        expected = brute_radius(x, x[:3], 0.6, None, torch.zeros(12), torch.zeros(3))
        assert [tuple(e) for e in edges.T.tolist()] == expected

    @pytest.mark.parametrize("block_size", [None, 2])
    def test_knn_equals_brute_force_by_distance(self, block_size):
        x, batch = cloud(30, 3)
        y, batch_y = x[[0, 11, 25]], batch[[0, 11, 25]]
        edges = knn(x, y, 4, batch, batch_y, block_size=block_size)
        for i in range(3):
            same = [j for j in range(30) if batch[j] == batch_y[i]]
            nearest = sorted(same, key=lambda j: (x[j] - y[i]).norm().item())[:4]
            assert edges[1][edges[0] == i].tolist() == nearest

    def test_knn_with_fewer_points_than_k_in_a_sample(self):
        x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
        edges = knn(x, x[[0, 2]], 3, torch.tensor([0, 0, 1]), torch.tensor([0, 1]))
        assert edges.tolist() == [[0, 0, 1], [0, 1, 2]]

    def test_errors(self):
        with pytest.raises(ValueError, match="floating point positions"):
            radius(torch.zeros(3, 2, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long), 1.0)
        with pytest.raises(ValueError, match="batch indices for both x and y"):
            knn(torch.zeros(3, 2), torch.zeros(1, 2), 1, batch_x=torch.zeros(3, dtype=torch.long))


def pooling_reference(module, pos, supernodes, batch, features=None):
    """Mean of per-edge messages, written out supernode by supernode."""
    emb = module.pos_embed(pos)
    if features is not None:
        emb = module.feature_down_projection(torch.cat([emb, module.feature_projection(features)], 1))
    edges = brute_radius(pos, pos[supernodes], module.radius, module.max_degree, batch, batch[supernodes])
    out = []
    for s, node in enumerate(supernodes.tolist()):
        sources = [j for i, j in edges if i == s]
        messages = module.message(torch.cat([emb[sources], emb[node].expand(len(sources), -1)], 1))
        out.append(torch.cat([messages.mean(0), emb[node]]))
    pooled = torch.stack(out).view(int(batch.max()) + 1, -1, 2 * emb.shape[1])
    return module.proj(pooled)


class TestSupernodePooling:
    def test_abspos_mean_equals_reference(self):
        pos, batch = cloud()
        supernodes = torch.tensor([1, 4, 8, 21, 30, 38])
        module = SupernodePooling({"hidden_dim": 12, "input_dim": 3, "radius": 0.4, "max_degree": 6}).eval()
        out = module(pos, supernodes, batch)
        assert out.shape == (2, 3, 12)
        torch.testing.assert_close(out, pooling_reference(module, pos, supernodes, batch), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(module(pos, supernodes, batch), out, atol=0, rtol=0)  # deterministic

    def test_features_flattened_and_checked(self):
        pos, batch = cloud()
        supernodes = torch.tensor([1, 4, 8, 21, 30, 38])
        features = torch.randn(40, 5)
        config = {"hidden_dim": 12, "input_dim": 3, "radius": 0.4, "input_features_dim": 5}
        module = SupernodePooling(config).eval()
        expected = pooling_reference(module, pos, supernodes, batch, features)
        torch.testing.assert_close(module(pos, supernodes, batch, features), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            module(pos, supernodes, batch, features.view(2, 20, 5)), expected, atol=1e-5, rtol=1e-5
        )
        with pytest.raises(
            ValueError, match=r"input_features must have shape \(points=40, input_features_dim=5\), got \(40, 4\)"
        ):
            module(pos, supernodes, batch, torch.randn(40, 4))
        with pytest.raises(ValueError, match=r"input_features must be \(40, 5\) \(input_features_dim\), got None"):
            module(pos, supernodes, batch)

    @pytest.mark.parametrize("mode", ["relpos", "absrelpos"])
    def test_relative_modes_see_offsets_only_through_rel_pos_embed(self, mode):
        pos, batch = cloud()
        supernodes = torch.tensor([1, 4, 8, 21, 30, 38])
        module = SupernodePooling({"hidden_dim": 8, "input_dim": 3, "k": 4, "spool_pos_mode": mode}).eval()
        out = module(pos, supernodes, batch)
        shifted = module(pos + torch.tensor([3.0, -1.0, 2.0]), supernodes, batch)
        assert out.shape == (2, 3, 8)
        assert not torch.allclose(out, shifted)  # the supernode's absolute position is added back
        module.proj = None  # without it, relpos depends only on offsets
        if mode == "relpos":
            torch.testing.assert_close(
                module(pos, supernodes, batch), module(pos + 3.0, supernodes, batch), atol=1e-4, rtol=1e-4
            )

    def test_sum_and_identity_messages(self):
        pos = torch.tensor([[0.0, 0, 0], [1.1, 1, 1], [0.1, 0, 0], [0.2, 0, 0], [1.0, 1, 1], [1.2, 1, 1]])
        config = {"hidden_dim": 6, "input_dim": 3, "radius": 0.5, "message_mode": "identity",
                  "readd_supernode_pos": False, "aggregation": "sum"}  # fmt: skip
        module = SupernodePooling(config)
        emb = module.pos_embed(pos)
        out = module(pos, torch.tensor([0, 1]))
        expected = torch.stack(
            [torch.cat([emb[[0, 2, 3]].sum(0), 3 * emb[0]]), torch.cat([emb[[1, 4, 5]].sum(0), 3 * emb[1]])]
        )
        torch.testing.assert_close(out, expected[None])

    def test_config_errors(self):
        with pytest.raises(ValidationError, match="set exactly one of radius and k"):
            SupernodePooling({"hidden_dim": 8, "input_dim": 3})
        with pytest.raises(ValidationError, match="set exactly one of radius and k"):
            SupernodePooling({"hidden_dim": 8, "input_dim": 3, "radius": 1.0, "k": 3})
        with pytest.raises(ValidationError, match="'absrelpos' takes no input features"):
            SupernodePooling({"hidden_dim": 8, "input_dim": 3, "k": 3, "spool_pos_mode": "absrelpos",
                              "input_features_dim": 2})  # fmt: skip
        module = SupernodePooling({"hidden_dim": 8, "input_dim": 3, "k": 3})
        pos, batch = cloud()
        with pytest.raises(ValueError, match="5 supernodes do not split evenly into 2 samples"):
            module(pos, torch.arange(5), batch)


class TestDecoderConditionerNorm:
    def test_deep_perceiver_is_its_blocks_in_turn_and_chunkable(self):
        block = {"hidden_dim": 8, "num_heads": 2, "mlp_expansion_factor": 2, "kv_dim": 6}
        decoder = DeepPerceiverDecoder({"perceiver_block_config": block, "depth": 3, "input_dim": 3}).eval()
        assert len(decoder.blocks) == 3
        assert all(isinstance(b, PerceiverBlock) for b in decoder.blocks)
        kv, queries = torch.randn(2, 5, 6), torch.randn(2, 7, 8)
        expected = queries
        for b in decoder.blocks:
            expected = b(expected, kv)
        out = decoder(kv, queries)
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(torch.cat([decoder(kv, queries[:, :3]), decoder(kv, queries[:, 3:])], 1), out)
        with pytest.raises(ValueError, match=r"kv must have shape \(batch, keys, kv_dim=6\), got \(2, 6\)"):
            decoder(torch.randn(2, 6), queries)

    def test_scalar_conditioner_equals_its_maths(self):
        module = ScalarsConditioner({"hidden_dim": 4, "num_scalars": 2, "condition_dim": 6, "init_weights": "torch"})
        v, a = torch.tensor([3.0, 40.0]), torch.tensor([[0.1], [-2.0]])
        per_scalar = [mlp(module.embed(s.reshape(-1, 1))) for mlp, s in zip(module.mlps, (v, a), strict=True)]
        expected = module.shared_mlp(torch.cat(per_scalar, 1))
        torch.testing.assert_close(module(velocity=v, yaw=a), expected)
        torch.testing.assert_close(module(v, a), expected)
        assert ScalarsConditioner({"hidden_dim": 4, "num_scalars": 1}).condition_dim == 16
        with pytest.raises(ValueError, match="got 1 scalars but num_scalars == 2"):
            module(velocity=v)
        with pytest.raises(ValueError, match=r"scalar 1 must be \(2,\) or \(2, 1\), got \(2, 2\)"):
            module(v, torch.ones(2, 2))

    @pytest.mark.parametrize("batch", [1, 3])
    def test_transformer_batchnorm_normalises_each_sample_over_its_tokens(self, batch):
        norm = TransformerBatchNorm(5)
        nn.init.normal_(norm.weight)
        nn.init.normal_(norm.bias)
        x = torch.randn(batch, 11, 5) * 3 + 1
        expected = torch.stack(
            [nn.functional.batch_norm(s, None, None, norm.weight, norm.bias, training=True) for s in x]
        )
        torch.testing.assert_close(norm(x), expected, atol=1e-5, rtol=1e-5)
        assert set(TransformerBatchNorm(5, elementwise_affine=False, bias=False).state_dict()) == set()
