"""Modules on torch, each config next to its module class; configs import without torch.

Every name is exported lazily, from the table in :mod:`noether.catalog`; the
``TYPE_CHECKING`` imports below repeat it for type checkers (a test holds them equal).
"""

from typing import TYPE_CHECKING

from noether._lazy import lazy_exports
from noether.catalog import exports

_EXPORTS = exports()
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:  # the lazily exported names, for type checkers and IDEs
    from noether.modeling.functional.activation import Activation
    from noether.modeling.functional.rope import rope
    from noether.modeling.modules.attention.anchor.config import (
        CrossAnchorAttentionConfig,
        JointAnchorAttentionConfig,
        MultiBranchAnchorAttentionConfig,
    )
    from noether.modeling.modules.attention.anchor.module import (
        CrossAnchorAttention,
        JointAnchorAttention,
        MultiBranchAnchorAttention,
        SelfAnchorAttention,
    )
    from noether.modeling.modules.attention.dot_product.config import DotProductAttentionConfig
    from noether.modeling.modules.attention.dot_product.module import DotProductAttention
    from noether.modeling.modules.attention.heads import MultiHeadAttentionBase
    from noether.modeling.modules.attention.kv_cache import KVCache
    from noether.modeling.modules.attention.mixed.config import MixedAttentionConfig
    from noether.modeling.modules.attention.mixed.module import MixedAttention
    from noether.modeling.modules.attention.perceiver.config import PerceiverAttentionConfig
    from noether.modeling.modules.attention.perceiver.module import PerceiverAttention
    from noether.modeling.modules.attention.transolver.config import TransolverAttentionConfig
    from noether.modeling.modules.attention.transolver.module import TransolverAttention
    from noether.modeling.modules.attention.transolver_plusplus.config import TransolverPlusPlusAttentionConfig
    from noether.modeling.modules.attention.transolver_plusplus.module import TransolverPlusPlusAttention
    from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig
    from noether.modeling.modules.blocks.perceiver.module import PerceiverBlock
    from noether.modeling.modules.blocks.stack.config import TransformerStackConfig
    from noether.modeling.modules.blocks.stack.module import TransformerStack
    from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig
    from noether.modeling.modules.blocks.transformer.module import TransformerBlock
    from noether.modeling.modules.decoders.deep_perceiver.config import DeepPerceiverDecoderConfig
    from noether.modeling.modules.decoders.deep_perceiver.module import DeepPerceiverDecoder
    from noether.modeling.modules.encoders.supernode_pooling.config import SupernodePoolingConfig
    from noether.modeling.modules.encoders.supernode_pooling.module import SupernodePooling
    from noether.modeling.modules.layers.continuous_sincos_embed.config import ContinuousSincosEmbeddingConfig
    from noether.modeling.modules.layers.continuous_sincos_embed.module import ContinuousSincosEmbed
    from noether.modeling.modules.layers.drop_path.config import UnquantizedDropPathConfig
    from noether.modeling.modules.layers.drop_path.module import UnquantizedDropPath
    from noether.modeling.modules.layers.layer_scale.config import LayerScaleConfig
    from noether.modeling.modules.layers.layer_scale.module import LayerScale
    from noether.modeling.modules.layers.linear_projection.config import LinearProjectionConfig
    from noether.modeling.modules.layers.linear_projection.module import LinearProjection
    from noether.modeling.modules.layers.rope_frequency.config import RopeFrequencyConfig
    from noether.modeling.modules.layers.rope_frequency.module import RopeFrequency
    from noether.modeling.modules.layers.scalar_conditioner.config import ScalarsConditionerConfig
    from noether.modeling.modules.layers.scalar_conditioner.module import ScalarsConditioner
    from noether.modeling.modules.layers.transformer_batchnorm.module import TransformerBatchNorm
    from noether.modeling.modules.mlp.mlp.config import MLPConfig
    from noether.modeling.modules.mlp.mlp.module import MLP
    from noether.modeling.modules.mlp.up_act_down_mlp.config import UpActDownMLPConfig
    from noether.modeling.modules.mlp.up_act_down_mlp.module import UpActDownMlp
    from noether.registry.legacy import ATTENTION_REGISTRY
