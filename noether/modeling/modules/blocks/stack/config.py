from noether.core.schemas import Config, config, field
from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig


@config
class TransformerStackConfig(Config):
    """``depth`` transformer blocks in a row: with anchor attention, an AB-UPT-style anchor transformer."""

    depth: int = field(ge=1, description="Number of blocks.")
    block: TransformerBlockConfig = field(description="Every block's options.")
