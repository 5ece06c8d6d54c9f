from noether.core.schemas import Config, config, field
from noether.modeling.modules.blocks.perceiver.config import PerceiverBlockConfig


@config
class DeepPerceiverDecoderConfig(Config):
    """A stack of Perceiver blocks: query tokens cross-attend to the same key/value tokens, layer after layer."""

    perceiver_block_config: PerceiverBlockConfig = field(description="Every block's config.")
    depth: int = field(default=1, ge=1, description="Number of Perceiver blocks.")
    input_dim: int = field(
        ge=1, description="Coordinate dimensions of the query positions (for the model's embedding)."
    )
