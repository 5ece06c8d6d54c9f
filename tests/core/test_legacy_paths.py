"""Every config import path of emmiai-noether 1.x resolves, without torch, to our class.

The table is written from 1.x's ``noether.core.schemas.modules`` tree (each module's
public names); it is deliberately not derived from ``noether.catalog.LEGACY``, which
it checks. The modeling paths are checked in ``tests/modeling/test_legacy_modeling_paths.py``.
"""

import importlib
import subprocess
import sys

from noether.catalog import LEGACY

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
