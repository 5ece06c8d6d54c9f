import pytest
import torch
from conftest import heads, merge, reference_attention

from noether.core.schemas.modules import AttentionPattern, TokenSpec
from noether.modeling.modules import (
    CrossAnchorAttention,
    JointAnchorAttention,
    KVCache,
    MixedAttention,
    RopeFrequency,
    RopeFrequencyConfig,
    SelfAnchorAttention,
)
from noether.modeling.modules.attention import (
    CrossAnchorAttentionConfig,
    JointAnchorAttentionConfig,
    MultiBranchAnchorAttentionConfig,
)

D, H = 24, 3
SIZES = {"surface_anchors": 5, "surface_queries": 7, "volume_anchors": 4, "volume_queries": 6}
SPECS = [TokenSpec(name=n, size=s) for n, s in SIZES.items()]
N = sum(SIZES.values())


def cfg(**kw):
    return {"hidden_dim": D, "num_heads": H, "init_weights": "torch", **kw}


def offsets():
    out, start = {}, 0
    for name, size in SIZES.items():
        out[name] = slice(start, start + size)
        start += size
    return out


def mixed_reference(module, x, patterns, freqs=None, valid=None):
    """Each pattern as its own softmax attention on the documented (q|k|v, head, head_dim) layout."""
    sd = module.state_dict()
    q, k, v = heads(x @ sd["qkv.weight"].T + sd["qkv.bias"], 3, H)
    if freqs is not None:
        from noether.modeling.modules.layers import rope

        q, k = rope(q, freqs), rope(k, freqs)
    where = offsets()
    out = torch.zeros_like(q)
    for p in patterns:
        qi = torch.cat([torch.arange(N)[where[n]] for n in p["query_tokens"]])
        ki = torch.cat([torch.arange(N)[where[n]] for n in p["key_value_tokens"]])
        mask = None if valid is None else valid[:, ki][:, None, None, :]
        out[:, :, qi] = reference_attention(q[:, :, qi], k[:, :, ki], v[:, :, ki], mask)
    return merge(out) @ sd["proj.weight"].T + sd["proj.bias"]


SELF = [
    {"query_tokens": ["surface_anchors", "surface_queries"], "key_value_tokens": ["surface_anchors"]},
    {"query_tokens": ["volume_anchors", "volume_queries"], "key_value_tokens": ["volume_anchors"]},
]
CROSS = [
    {"query_tokens": ["surface_anchors", "surface_queries"], "key_value_tokens": ["volume_anchors"]},
    {"query_tokens": ["volume_anchors", "volume_queries"], "key_value_tokens": ["surface_anchors"]},
]
JOINT = [{"query_tokens": list(SIZES), "key_value_tokens": ["surface_anchors", "volume_anchors"]}]
# queries in another order than the tokens, and key groups that are not contiguous
SCATTERED = [
    {"query_tokens": ["volume_queries", "surface_anchors"], "key_value_tokens": ["volume_anchors", "surface_queries"]},
    {"query_tokens": ["surface_queries", "volume_anchors"], "key_value_tokens": ["surface_anchors"]},
]


class TestMixedAttention:
    @pytest.mark.parametrize("patterns", [SELF, CROSS, JOINT, SCATTERED], ids=["self", "cross", "joint", "scattered"])
    def test_matches_per_pattern_reference(self, patterns):
        module = MixedAttention(cfg()).eval()
        x = torch.randn(2, N, D)
        expected = mixed_reference(module, x, patterns)
        torch.testing.assert_close(
            module(x, token_specs=SPECS, attention_patterns=patterns), expected, atol=1e-5, rtol=1e-5
        )

    def test_equal_shapes_share_one_sdpa_call(self, monkeypatch):
        module = MixedAttention(cfg()).eval()
        calls = []
        original = module.attend
        monkeypatch.setattr(module, "attend", lambda q, k, v, m=None: calls.append(q.shape) or original(q, k, v, m))
        equal = [TokenSpec(name=n, size=4) for n in SIZES]
        module(torch.randn(2, 16, D), token_specs=equal, attention_patterns=SELF)
        assert calls == [torch.Size([4, H, 8, D // H])]  # two patterns batched along the batch axis
        calls.clear()
        module(torch.randn(2, N, D), token_specs=SPECS, attention_patterns=SELF)
        assert len(calls) == 2  # different shapes: one call each

    def test_rope_and_padding_mask(self):
        module = MixedAttention(cfg(use_rope=True)).eval()
        x = torch.randn(2, N, D)
        freqs = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(torch.randn(2, N, 3))
        valid = torch.ones(2, N, dtype=torch.bool)
        valid[1, offsets()["surface_anchors"].stop - 2 : offsets()["surface_anchors"].stop] = False
        expected = mixed_reference(module, x, JOINT, freqs, valid)
        actual = module(x, token_specs=SPECS, attention_patterns=JOINT, key_padding_mask=valid, freqs=freqs)
        torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)

    def test_pattern_errors(self):
        module = MixedAttention(cfg())
        x = torch.randn(1, N, D)
        with pytest.raises(ValueError, match=r"'wing' of attention pattern 0 is not defined in `token_specs`"):
            module(
                x, token_specs=SPECS, attention_patterns=[{"query_tokens": list(SIZES), "key_value_tokens": ["wing"]}]
            )
        with pytest.raises(ValueError, match=r"'volume_queries'\] are the query of no attention pattern"):
            module(
                x,
                token_specs=SPECS,
                attention_patterns=[{"query_tokens": list(SIZES)[:3], "key_value_tokens": ["surface_anchors"]}],
            )
        with pytest.raises(
            ValueError, match=r"'surface_anchors' cannot be a query in multiple attention patterns \(0 and 1\)"
        ):
            module(
                x,
                token_specs=SPECS,
                attention_patterns=[
                    *JOINT,
                    {"query_tokens": ["surface_anchors"], "key_value_tokens": ["volume_anchors"]},
                ],
            )
        with pytest.raises(ValueError, match=r"Token specs total size 22 .* != tensor size 21"):
            module(torch.randn(1, N - 1, D), token_specs=SPECS, attention_patterns=JOINT)
        with pytest.raises(ValueError, match=r"name these groups more than once: \['surface_anchors'\]"):
            module(x, token_specs=[*SPECS[:3], TokenSpec(name="surface_anchors", size=6)], attention_patterns=JOINT)
        with pytest.raises(ValueError, match=r"key_padding_mask must be a bool tensor of shape \(batch, keys\)"):
            module(x, token_specs=SPECS, attention_patterns=JOINT, key_padding_mask=torch.ones(1, N))

    def test_accepts_plain_dict_specs_and_patterns(self):
        module = MixedAttention(cfg()).eval()
        x = torch.randn(1, N, D)
        torch.testing.assert_close(
            module(x, token_specs=[{n: s} for n, s in SIZES.items()], attention_patterns=JOINT),
            module(x, token_specs=SPECS, attention_patterns=JOINT),
        )


class TestKVCache:
    def anchors_then_queries(self, module, x, call):
        where = offsets()
        cache = KVCache(module)
        anchors = torch.cat([x[:, where["surface_anchors"]], x[:, where["volume_anchors"]]], 1)
        call(anchors, [TokenSpec(name="surface_anchors", size=5), TokenSpec(name="volume_anchors", size=4)], cache)
        queries = torch.cat([x[:, where["surface_queries"]], x[:, where["volume_queries"]]], 1)
        cached = [TokenSpec(name=n, size=None if n.endswith("anchors") else s) for n, s in SIZES.items()]
        return call(queries, cached, cache), cache

    @pytest.mark.parametrize("cls", [SelfAnchorAttention, CrossAnchorAttention, JointAnchorAttention])
    def test_cached_queries_equal_one_shot(self, cls):
        module = cls(cfg(branches=["surface", "volume"], qk_norm=True)).eval()
        x = torch.randn(2, N, D)
        full = module(x, token_specs=SPECS)
        out, cache = self.anchors_then_queries(module, x, lambda t, s, c: module(t, token_specs=s, kv_cache=c))
        where = offsets()
        expected = torch.cat([full[:, where["surface_queries"]], full[:, where["volume_queries"]]], 1)
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
        assert cache.groups(module.mixed_attention) == ["surface_anchors", "volume_anchors"]

    @pytest.mark.parametrize("implementation", ["complex", "real"])
    def test_chunked_queries_with_rope(self, implementation):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"], use_rope=True)).eval()
        coords = torch.randn(1, N, 3)
        rope = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3, implementation=implementation))
        freqs = rope(coords)
        x = torch.randn(1, N, D)
        full = module(x, token_specs=SPECS, freqs=freqs)
        where = offsets()
        anchor_idx = torch.cat([torch.arange(N)[where["surface_anchors"]], torch.arange(N)[where["volume_anchors"]]])
        cache = KVCache()
        module(x[:, anchor_idx], token_specs=[{"surface_anchors": 5}, {"volume_anchors": 4}],
               freqs=rope(coords[:, anchor_idx]), kv_cache=cache)  # fmt: skip
        query_idx = torch.arange(N)[where["volume_queries"]]
        for chunk in query_idx.split(4):
            specs = [{"surface_anchors": None}, {"volume_anchors": None}, {"volume_queries": len(chunk)}]
            out = module(x[:, chunk], token_specs=specs, freqs=rope(coords[:, chunk]), kv_cache=cache)
            torch.testing.assert_close(out, full[:, chunk], atol=1e-5, rtol=1e-5)

    def test_cache_errors(self):
        module = MixedAttention(cfg()).eval()
        queries = torch.randn(2, 7, D)
        specs = [TokenSpec(name="surface_anchors", size=None), TokenSpec(name="surface_queries", size=7)]
        pattern = [{"query_tokens": ["surface_queries"], "key_value_tokens": ["surface_anchors"]}]
        with pytest.raises(ValueError, match=r"\['surface_anchors'\] have size=None, so .* none was given"):
            module(queries, token_specs=specs, attention_patterns=pattern)
        cache = KVCache(torch.nn.ModuleDict({"layer0": module}))
        with pytest.raises(
            KeyError, match="'surface_anchors' has size=None but is not in the KV cache of layer 'layer0'"
        ):
            module(queries, token_specs=specs, attention_patterns=pattern, kv_cache=cache)
        anchors_as_queries = {"query_tokens": ["surface_anchors", "surface_queries"],
                              "key_value_tokens": ["surface_queries"]}  # fmt: skip
        with pytest.raises(ValueError, match=r"'surface_anchors' has size=None .* cannot be a query"):
            module(queries, token_specs=specs, attention_patterns=[anchors_as_queries], kv_cache=cache)
        anchors_only = [{"query_tokens": ["surface_anchors"], "key_value_tokens": ["surface_anchors"]}]
        module(
            torch.randn(3, 5, D), token_specs=[{"surface_anchors": 5}], attention_patterns=anchors_only, kv_cache=cache
        )
        with pytest.raises(ValueError, match=r"'surface_anchors' in layer 'layer0' .* batch size 3 != 2"):
            module(queries, token_specs=specs, attention_patterns=pattern, kv_cache=cache)
        with pytest.raises(ValueError, match=r"dtype torch.float32 != torch.float64"):
            module.double()(torch.randn(3, 7, D, dtype=torch.float64), specs, pattern, kv_cache=cache)

    def test_one_cache_serves_a_stack(self):
        layers = torch.nn.ModuleList(
            [JointAnchorAttention(cfg(branches=["surface", "volume"])) for _ in range(3)]
        ).eval()
        x = torch.randn(1, N, D)

        def stack(t, specs, cache):
            for layer in layers:
                t = t + layer(t, token_specs=specs, kv_cache=cache)
            return t

        full = stack(x, SPECS, None)
        out, cache = self.anchors_then_queries(layers, x, stack)
        where = offsets()
        expected = torch.cat([full[:, where["surface_queries"]], full[:, where["volume_queries"]]], 1)
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
        assert len(cache) == 3
        assert "2.mixed_attention" in repr(cache)
        assert cache.nbytes == 3 * 2 * (5 + 4) * D * 4


class TestAnchorAttention:
    def test_derived_patterns(self):
        specs = SPECS
        branches = {"branches": ["surface", "volume"]}
        as_dicts = lambda ps: [p.to_dict() for p in ps]  # noqa: E731
        assert as_dicts(SelfAnchorAttention(cfg(**branches)).patterns(specs)) == SELF
        assert as_dicts(CrossAnchorAttention(cfg(**branches)).patterns(specs)) == CROSS
        assert as_dicts(JointAnchorAttention(cfg(**branches)).patterns(specs)) == JOINT

    def test_three_branch_cross(self):
        module = CrossAnchorAttention(cfg(branches=["surface", "volume", "wake"]))
        specs = [*SPECS, TokenSpec(name="wake_anchors", size=2)]
        assert module.patterns(specs)[0] == AttentionPattern(
            query_tokens=["surface_anchors", "surface_queries"], key_value_tokens=["volume_anchors", "wake_anchors"]
        )

    def test_branch_names_with_underscores_use_longest_match(self):
        module = SelfAnchorAttention(cfg(branches=["front", "front_wheel"]))
        specs = [TokenSpec(name=n, size=1) for n in ("front_anchors", "front_wheel_anchors", "front_wheel_queries")]
        queries = [p.query_tokens for p in module.patterns(specs)]
        assert queries == [["front_anchors"], ["front_wheel_anchors", "front_wheel_queries"]]

    def test_errors(self):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"]))
        x = torch.randn(1, 3, D)
        with pytest.raises(ValueError, match=r"token groups \['wing_anchors'\] belong to no branch"):
            module(x, token_specs=[*SPECS[:2], {"wing_anchors": 1}])
        with pytest.raises(ValueError, match=r"branches \['volume'\] have no token groups"):
            module(x, token_specs=[{"surface_anchors": 3}])
        with pytest.raises(ValueError, match=r"branches \['volume'\] lack their anchor groups \['volume_anchors'\]"):
            module(x, token_specs=[{"surface_anchors": 2}, {"volume_queries": 1}])

    def test_config_rules(self):
        from noether.core.schemas import ValidationError

        for between in (JointAnchorAttentionConfig, CrossAnchorAttentionConfig):  # a field rule: info states it
            with pytest.raises(ValidationError, match=r"branches\n  Input should have at least 2 items, not 1"):
                between(hidden_dim=D, num_heads=H, branches=["surface"])
            assert between.model_fields["branches"].min_length == 2
        with pytest.raises(ValidationError, match="Input should have at least 2 items"):
            CrossAnchorAttention(cfg(branches=["surface"]))
        with pytest.raises(ValidationError, match="Input should have at least 1 item"):
            MultiBranchAnchorAttentionConfig(hidden_dim=D, num_heads=H, branches=[])
        with pytest.raises(ValidationError, match=r"branches must be distinct, repeated: \['a'\]"):
            MultiBranchAnchorAttentionConfig(hidden_dim=D, num_heads=H, branches=["a", "a"])
        with pytest.raises(ValidationError, match="a valid list"):
            MultiBranchAnchorAttentionConfig(hidden_dim=D, num_heads=H, branches="surface")
        assert SelfAnchorAttention(cfg(branches=["surface"])).branches == ["surface"]

    def test_state_dict_under_mixed_attention(self):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"]))
        assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {
            "mixed_attention.qkv.weight": (3 * D, D), "mixed_attention.qkv.bias": (3 * D,),
            "mixed_attention.proj.weight": (D, D), "mixed_attention.proj.bias": (D,),
        }  # fmt: skip

    def test_custom_anchor_suffix(self):
        module = SelfAnchorAttention(cfg(branches=["surface"], anchor_suffix="_supernodes")).eval()
        out = module(torch.randn(1, 5, D), token_specs=[{"surface_supernodes": 2}, {"surface_queries": 3}])
        assert out.shape == (1, 5, D)

    @pytest.mark.parametrize("cls", [SelfAnchorAttention, CrossAnchorAttention, JointAnchorAttention])
    def test_backward(self, cls):
        module = cls(cfg(branches=["surface", "volume"], dropout=0.1))
        x = torch.randn(2, N, D, requires_grad=True)
        module(x, token_specs=SPECS).sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
        assert x.grad.abs().sum() > 0


@pytest.mark.slow
def test_torch_compile_matches_eager():
    module = MixedAttention(cfg()).eval()
    x = torch.randn(2, N, D)
    compiled = torch.compile(module, dynamic=False)
    with torch.no_grad():
        torch.testing.assert_close(
            compiled(x, token_specs=SPECS, attention_patterns=SELF),
            module(x, token_specs=SPECS, attention_patterns=SELF),
            atol=1e-5,
            rtol=1e-5,
        )


class TestKVCacheBuffers:
    def anchors_cached(self, module, x, cache):
        where = offsets()
        anchors = torch.cat([x[:, where["surface_anchors"]], x[:, where["volume_anchors"]]], 1)
        module(anchors, token_specs=[{"surface_anchors": 5}, {"volume_anchors": 4}], kv_cache=cache)
        return anchors

    def test_groups_stored_together_load_as_one_view(self):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"])).eval()
        cache = KVCache()
        self.anchors_cached(module, torch.randn(2, N, D), cache)
        layer = module.mixed_attention
        like = torch.empty(2, 1, D)
        keys, values = cache.load_groups(layer, ["surface_anchors", "volume_anchors"], like)
        surface, _ = cache.load(layer, "surface_anchors", like)
        volume, _ = cache.load(layer, "volume_anchors", like)
        assert keys.shape == values.shape == (2, H, 9, D // H)
        assert keys.data_ptr() == surface.data_ptr()  # a view of the shared buffer, no copy
        assert volume.data_ptr() == surface.data_ptr() + 5 * surface.stride(2) * surface.element_size()
        torch.testing.assert_close(keys, torch.cat([surface, volume], dim=2), rtol=0, atol=0)
        reversed_keys, _ = cache.load_groups(layer, ["volume_anchors", "surface_anchors"], like)
        torch.testing.assert_close(reversed_keys, torch.cat([volume, surface], dim=2), rtol=0, atol=0)
        assert reversed_keys.data_ptr() != surface.data_ptr()

    def test_stored_slices_do_not_keep_the_qkv_projection_alive(self):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"])).eval()
        cache = KVCache()
        module(torch.randn(1, N, D), token_specs=SPECS, kv_cache=cache)  # anchors are slices of one qkv projection
        keys, values = cache.load_groups(module.mixed_attention, ["surface_anchors", "volume_anchors"], torch.empty(1))
        for t in (keys, values):
            assert t.untyped_storage().nbytes() == 9 * D * 4  # only the anchors' tokens, compacted
        assert cache.nbytes == 2 * 9 * D * 4

    def test_reserved_space_is_carved_until_exhausted(self):
        cache = KVCache()
        like = torch.empty(1, dtype=torch.float32)
        cache.reserve(2 * 2 * 5 * D * 4, like)  # keys and values of 10 tokens
        first = cache.empty(2, 5, H, D // H, like)
        second = cache.empty(2, 5, H, D // H, like)
        assert first.shape == (2, H, 5, D // H)
        assert first.untyped_storage().data_ptr() == second.untyped_storage().data_ptr()
        assert second.data_ptr() == first.data_ptr() + 2 * 5 * D * 4
        third = cache.empty(2, 5, H, D // H, like)
        assert third.untyped_storage().data_ptr() != first.untyped_storage().data_ptr()
        other = cache.empty(1, 1, H, D // H, torch.empty(1, dtype=torch.float64))
        assert other.dtype == torch.float64
        assert other.untyped_storage().nbytes() == D * 8

    @pytest.mark.parametrize("chunk_size", [None, 2, 100])
    def test_store_kv_caches_what_forward_caches(self, chunk_size):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"], qk_norm=True, use_rope=True)).eval()
        x = torch.randn(2, 9, D)
        freqs = RopeFrequency(RopeFrequencyConfig(hidden_dim=D // H, input_dim=3))(torch.randn(2, 9, 3))
        specs = [{"surface_anchors": 5}, {"volume_anchors": 4}]
        by_forward, by_store = KVCache(), KVCache()
        module(x, token_specs=specs, freqs=freqs, kv_cache=by_forward)
        prepared = []
        aliases = module.prefill_kv(
            x * 0.5, token_specs=specs, freqs=freqs, kv_cache=by_store, chunk_size=chunk_size,
            prepare=lambda part: prepared.append(part.shape[1]) or part * 2,
        )  # fmt: skip
        assert aliases == {"surface_anchors": "surface_anchors_chunk", "volume_anchors": "volume_anchors_chunk"}
        assert prepared == ([9] if chunk_size is None else [min(chunk_size, 9 - s) for s in range(0, 9, chunk_size)])
        layer = module.mixed_attention
        for group in ("surface_anchors", "volume_anchors"):
            for stored, expected in zip(by_store.load(layer, group, x), by_forward.load(layer, group, x), strict=True):
                torch.testing.assert_close(stored, expected, atol=1e-6, rtol=1e-6)

    @pytest.mark.parametrize("cls", [SelfAnchorAttention, CrossAnchorAttention, JointAnchorAttention])
    def test_anchor_chunks_under_their_alias_attend_like_the_anchors(self, cls):
        module = cls(cfg(branches=["surface", "volume"])).eval()
        x = torch.randn(1, N, D)
        full = module(x, token_specs=SPECS)
        where = offsets()
        cache = KVCache()
        anchors = torch.cat([x[:, where["surface_anchors"]], x[:, where["volume_anchors"]]], 1)
        groups = [{"surface_anchors": 5}, {"volume_anchors": 4}]
        aliases = module.prefill_kv(anchors, token_specs=groups, kv_cache=cache)
        cached = [{"surface_anchors": None}, {"volume_anchors": None}]
        for group in ("surface_anchors", "volume_anchors"):
            tokens = x[:, where[group]]
            for start in range(0, tokens.shape[1], 2):
                part = tokens[:, start : start + 2]
                out = module(part, token_specs=[*cached, {aliases[group]: part.shape[1]}], kv_cache=cache)
                torch.testing.assert_close(out, full[:, where[group]][:, start : start + 2], atol=1e-5, rtol=1e-5)

    def test_anchor_alias_belongs_to_the_branch_whatever_the_suffix(self):
        module = SelfAnchorAttention(cfg(branches=["surface", "volume"], anchor_suffix="Anchors")).eval()
        x = torch.randn(1, 9, D)
        specs = [{"surfaceAnchors": 5}, {"volumeAnchors": 4}]
        full = module(x, token_specs=specs)
        cache = KVCache()
        aliases = module.prefill_kv(x, token_specs=specs, kv_cache=cache)
        assert aliases == {
            "surfaceAnchors": "surface_surfaceAnchors_chunk",
            "volumeAnchors": "volume_volumeAnchors_chunk",
        }
        chunk = [{"surfaceAnchors": None}, {"volumeAnchors": None}, {aliases["volumeAnchors"]: 4}]
        out = module(x[:, 5:], token_specs=chunk, kv_cache=cache)
        torch.testing.assert_close(out, full[:, 5:], atol=1e-5, rtol=1e-5)

    def test_prefill_checks_branches(self):
        module = JointAnchorAttention(cfg(branches=["surface", "volume"])).eval()
        with pytest.raises(ValueError, match=r"branches \['volume'\] have no token groups in token_specs"):
            module.prefill_kv(torch.randn(1, 5, D), token_specs=[{"surface_anchors": 5}], kv_cache=KVCache())


def test_forward_leaves_no_reference_cycles():
    """Activations are freed when the forward returns, not when the garbage collector next runs."""
    import gc
    import inspect

    module = JointAnchorAttention(cfg(branches=["surface", "volume"])).eval()
    cache = KVCache()
    x = torch.randn(1, N, D)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage, to look at
    try:
        module(x, token_specs=SPECS, kv_cache=cache)
        cached = [TokenSpec(name=n, size=None if n.endswith("anchors") else s) for n, s in SIZES.items()]
        module(torch.randn(1, 13, D), token_specs=cached, kv_cache=cache)
        gc.collect()
        # only ours: other threads and torch.compile's fake tensors of earlier tests may be collected here too
        fake = torch._subclasses.fake_tensor.FakeTensor
        ours = [o for o in gc.garbage if (isinstance(o, torch.Tensor) and not isinstance(o, fake))
                or type(o).__module__.startswith("noether")
                or (inspect.isframe(o) and "/noether/" in o.f_code.co_filename)]  # fmt: skip
        assert ours == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_token_specs_as_tuples_dicts_or_configs_are_one_layout():
    from noether.core.schemas import ValidationError

    module = JointAnchorAttention(cfg(branches=["surface", "volume"])).eval()
    x = torch.randn(1, N, D)
    as_configs = module(x, token_specs=[TokenSpec(name=n, size=s) for n, s in SIZES.items()])
    torch.testing.assert_close(module(x, token_specs=list(SIZES.items())), as_configs)
    torch.testing.assert_close(module(x, token_specs=[{n: s} for n, s in SIZES.items()]), as_configs)
    with pytest.raises(ValidationError, match=r"surface_anchors\n  Input should be greater than or equal to 0"):
        module(x, token_specs=[("surface_anchors", -1)])


def test_a_token_layout_is_checked_once_and_remembered(monkeypatch):
    from noether.modeling.modules.attention.mixed import module as mixed_module

    builds = []
    original = mixed_module.TokenLayout.build
    monkeypatch.setattr(mixed_module.TokenLayout, "build", lambda *a: builds.append(a[3]) or original(*a))
    anchor = JointAnchorAttention(cfg(branches=["surface", "volume"])).eval()
    x = torch.randn(1, N, D)
    first = anchor(x, token_specs=SPECS)
    torch.testing.assert_close(
        anchor(x, token_specs=[{n: s} for n, s in SIZES.items()]), first
    )  # same groups, other form
    assert builds == [N]
    shorter = [TokenSpec(name=n, size=s - 1 if n == "volume_queries" else s) for n, s in SIZES.items()]
    anchor(x[:, :-1], token_specs=shorter)
    assert builds == [N, N - 1]
    with pytest.raises(ValueError, match=r"Token specs total size 22 .* != tensor size 21"):
        anchor(x[:, :-1], token_specs=SPECS)  # a layout that failed its check is never remembered
    with pytest.raises(ValueError, match=r"Token specs total size 22 .* != tensor size 21"):
        anchor(x[:, :-1], token_specs=SPECS)


def test_a_layout_plans_its_patterns_once():
    """Spans and the patterns that share one SDPA call are worked out when the layout is built, not per call."""
    from noether.modeling.modules.attention.mixed.layout import Group, Pattern, TokenLayout

    specs = [Group(n, s) for n, s in SIZES.items()]
    cross = [
        Pattern(("surface_anchors", "surface_queries"), ("volume_anchors",)),
        Pattern(("volume_anchors", "volume_queries"), ("surface_anchors",)),
    ]
    layout = TokenLayout.build("test", specs, cross, N)
    assert layout.spans == {
        ("surface_anchors", "surface_queries"): (0, 12),
        ("volume_anchors",): (12, 16),
        ("volume_anchors", "volume_queries"): (12, 22),
        ("surface_anchors",): (0, 5),
    }
    assert layout.key_groups == {"volume_anchors", "surface_anchors"}
    assert layout.batches == ((0,), (1,))  # 12 queries x 4 keys and 10 x 5: two calls
    even = [Group("a", 3), Group("b", 3)]
    swapped = [Pattern(("a",), ("b",)), Pattern(("b",), ("a",))]
    assert TokenLayout.build("test", even, swapped, 6).batches == ((0, 1),)  # equal shapes: one call
    assert layout.span(("volume_queries", "surface_anchors")) is None  # not planned: worked out, not back to back
    cached = TokenLayout.build("test", [Group("a", 3), Group("b", None)], [Pattern(("a",), ("a", "b"))], 3)
    assert cached.batches is None  # a cached group's size is known only from the cache


def test_patterns_sharing_one_call_give_what_separate_calls_give():
    module = MixedAttention(cfg()).eval()
    x = torch.randn(2, 6, D)
    specs = [{"a": 3}, {"b": 3}]
    swapped = [{"query_tokens": ["a"], "key_value_tokens": ["b"]}, {"query_tokens": ["b"], "key_value_tokens": ["a"]}]
    out = module(x, token_specs=specs, attention_patterns=swapped)
    q, k, v = heads(module.qkv(x), 3, H)
    a, b = slice(0, 3), slice(3, 6)
    expected = torch.cat(
        [
            reference_attention(q[:, :, a], k[:, :, b], v[:, :, b]),
            reference_attention(q[:, :, b], k[:, :, a], v[:, :, a]),
        ],
        dim=2,
    )
    torch.testing.assert_close(out, module.proj(merge(expected)))
