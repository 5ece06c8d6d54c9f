"""Every config import path of emmiai-noether 1.x resolves, without torch, to our class.

The table is written from 1.x's ``noether.core.schemas.modules`` tree (each module's
public names); it is deliberately not derived from ``noether.catalog.LEGACY``, which
it checks. The modeling paths are checked in ``tests/modeling/test_legacy_modeling_paths.py``.
"""

import importlib
import subprocess
import sys

import pytest

from noether.catalog import LEGACY
from noether.core.schemas import ValidationError

_ATTENTION = [
    "AttentionConfig",
    "CrossAnchorAttentionConfig",
    "DotProductAttentionConfig",
    "IrregularNatAttentionConfig",
    "JointAnchorAttentionConfig",
    "MixedAttentionConfig",
    "MultiBranchAnchorAttentionConfig",
    "PerceiverAttentionConfig",
    "TransolverAttentionConfig",
    "TransolverPlusPlusAttentionConfig",
]
_LAYERS = [
    "ContinuousSincosEmbeddingConfig",
    "LayerScaleConfig",
    "LinearProjectionConfig",
    "RopeFrequencyConfig",
    "UnquantizedDropPathConfig",
]
SCHEMA_PATHS_1X = {
    "noether.core.schemas.modules": [
        *_ATTENTION, *_LAYERS, "PerceiverBlockConfig", "TransformerBlockConfig", "DeepPerceiverDecoderConfig",
        "SupernodePoolingConfig", "MLPConfig", "UpActDownMLPConfig",
    ],
    "noether.core.schemas.modules.attention": [*_ATTENTION, "TokenSpec", "AttentionPattern"],
    "noether.core.schemas.modules.blocks": ["TransformerBlockConfig", "PerceiverBlockConfig"],
    "noether.core.schemas.modules.mlp": ["MLPConfig", "UpActDownMLPConfig"],
    "noether.core.schemas.modules.encoders": ["SupernodePoolingConfig"],
    "noether.core.schemas.modules.decoders": ["DeepPerceiverDecoderConfig"],
    "noether.core.schemas.modules.layers": _LAYERS,
    "noether.core.schemas.modules.layers.continuous_sincos_embedding": ["ContinuousSincosEmbeddingConfig"],
    "noether.core.schemas.modules.layers.drop_path": ["UnquantizedDropPathConfig"],
    "noether.core.schemas.modules.layers.layer_scale": ["LayerScaleConfig"],
    "noether.core.schemas.modules.layers.linear_projection": ["LinearProjectionConfig"],
    "noether.core.schemas.modules.layers.rope_frequency": ["RopeFrequencyConfig"],
    "noether.core.schemas.modules.layers.scalar_conditioner": ["ScalarsConditionerConfig"],
}  # fmt: skip


def test_every_1x_config_path_resolves_without_torch_to_one_class():
    script = f"""
import importlib, sys
paths = {SCHEMA_PATHS_1X!r}
seen = {{}}
for path, names in paths.items():
    module = importlib.import_module(path)
    for name in names:
        obj = getattr(module, name)
        assert seen.setdefault(name, obj) is obj, (path, name)
        assert name in module.__all__ and name in dir(module), (path, name)
loaded = sorted(n for n in sys.modules if n == "torch" or n.startswith("torch."))
print(len(seen), loaded)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["24", "[]"]  # 24 names, and torch never imported


def test_old_names_are_the_new_classes():
    from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig
    from noether.modeling.modules.layers.rope_frequency.config import RopeFrequencyConfig

    assert importlib.import_module("noether.core.schemas.modules.blocks").PerceiverBlockConfig is PerceiverBlockConfig
    old = importlib.import_module("noether.core.schemas.modules.layers.rope_frequency")
    assert old.RopeFrequencyConfig is RopeFrequencyConfig


def test_the_catalog_table_names_no_more_than_1x_had():
    for path, names in LEGACY.items():
        if path in SCHEMA_PATHS_1X:
            assert set(names) <= set(SCHEMA_PATHS_1X[path]), path


# What 1.x's model_dump() wrote for two block configs (computed sub-configs included), as YAML files hold them.
_COMMON = {"drop_path": 0.0, "attention_constructor": "dot_product", "bias": True, "eps": 1e-06,
           "init_weights": "truncnormal002", "use_rope": False, "attention_arguments": {},
           "linear_projection_config": {"input_dim": 8, "output_dim": 8, "ndim": None, "bias": True, "optional": False,
                                        "init_weights": "truncnormal002"},
           "drop_path_config": {"drop_prob": 0.0, "scale_by_keep": True}}  # fmt: skip
DUMP_1X_TRANSFORMER = {
    **_COMMON, "hidden_dim": 8, "num_heads": 2, "mlp_hidden_dim": 16, "mlp_expansion_factor": 2, "layerscale": 0.1,
    "condition_dim": 3, "layerscale_config": {"hidden_dim": 8, "init_values": 0.1},
    "modulation_linear_projection_config": {"input_dim": 3, "output_dim": 48, "ndim": None, "bias": True,
                                            "optional": False, "init_weights": "zeros"},
    "up_act_down_mlp_config": {"input_dim": 8, "hidden_dim": 16, "bias": True, "init_weights": "truncnormal002"},
}  # fmt: skip
DUMP_1X_PERCEIVER = {
    **_COMMON, "hidden_dim": 8, "num_heads": 2, "mlp_hidden_dim": 12, "mlp_expansion_factor": None,
    "layerscale": None, "condition_dim": 4, "kv_dim": None, "layerscale_config": {"hidden_dim": 8, "init_values": None},
    "modulation_linear_projection_config": {"input_dim": 4, "output_dim": 64, "ndim": None, "bias": True,
                                            "optional": False, "init_weights": "zeros"},
    "up_act_down_mlp_config": {"input_dim": 8, "hidden_dim": 12, "bias": True, "init_weights": "truncnormal002"},
    "perceiver_attention_config": {"hidden_dim": 8, "num_heads": 2, "use_rope": False, "dropout": 0.0,
                                   "init_weights": "truncnormal002", "bias": True, "head_dim": 4, "kv_dim": 8},
}  # fmt: skip


def test_1x_block_dumps_load_and_mean_the_same():
    blocks = importlib.import_module("noether.core.schemas.modules.blocks")
    transformer = blocks.TransformerBlockConfig.from_dict(DUMP_1X_TRANSFORMER)
    assert (transformer.condition_dim, transformer.mlp_hidden_dim, transformer.layerscale) == (3, 16, 0.1)
    assert transformer.to_dict() == {**DUMP_1X_TRANSFORMER, "normalization_constructor": None}
    assert blocks.TransformerBlockConfig(**DUMP_1X_TRANSFORMER) == transformer
    perceiver = blocks.PerceiverBlockConfig.from_dict(DUMP_1X_PERCEIVER)
    # 1.x's PerceiverBlockConfig inherited attention_constructor="dot_product" and always used Perceiver attention
    assert perceiver.attention_constructor == "perceiver"
    assert perceiver.kv_dim is None
    assert perceiver.modulation_linear_projection_config["output_dim"] == 8 * 8  # key/values modulated too
    contradicting = {**DUMP_1X_TRANSFORMER, "up_act_down_mlp_config": {**DUMP_1X_TRANSFORMER["up_act_down_mlp_config"],
                                                                     "hidden_dim": 32}}  # fmt: skip
    with pytest.raises(ValidationError, match="up_act_down_mlp_config is derived from the other fields"):
        blocks.TransformerBlockConfig.from_dict(contradicting)
