"""What transformer and Perceiver blocks share: norms, residual branches, adaLN modulation, attention calls."""

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from noether.modeling.modules.blocks.transformer.config import BlockOptions
from noether.modeling.modules.layers.drop_path.config import UnquantizedDropPathConfig
from noether.modeling.modules.layers.drop_path.module import UnquantizedDropPath
from noether.modeling.modules.layers.layer_scale.config import LayerScaleConfig
from noether.modeling.modules.layers.layer_scale.module import LayerScale
from noether.modeling.modules.layers.linear_projection.config import LinearProjectionConfig
from noether.modeling.modules.layers.linear_projection.module import LinearProjection
from noether.modeling.modules.mlp.up_act_down_mlp.config import UpActDownMLPConfig
from noether.modeling.modules.mlp.up_act_down_mlp.module import UpActDownMlp

# Block keyword -> the names attention modules use for it, in order of preference.
_ATTENTION_KWARGS = {
    "token_specs": ("token_specs",),
    "attention_patterns": ("attention_patterns",),
    "attn_mask": ("attn_mask", "attention_mask"),
    "freqs": ("freqs",),
    "q_freqs": ("q_freqs",),
    "k_freqs": ("k_freqs",),
    "kv_cache": ("kv_cache",),
}


class AttentionCall:
    """Calls an attention module with the block's keyword arguments, under the names it accepts."""

    def __init__(self, owner: str, name: str, attention: nn.Module) -> None:
        parameters = inspect.signature(attention.forward).parameters
        self.owner, self.name, self.attention = owner, name, type(attention).__name__
        self.accepted = {
            block_kw: next((n for n in names if n in parameters), None) for block_kw, names in _ATTENTION_KWARGS.items()
        }

    def kwargs(self, given: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in given.items():
            if value is None:
                continue
            target = self.accepted[key]
            if target is None:
                raise ValueError(
                    f"{self.owner}: attention {self.name!r} ({self.attention}) does not take {key}; "
                    "use an attention that does (anchor attention takes token_specs and kv_cache)"
                )
            out[target] = value
        return out


def modulate(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class ResidualBlock(nn.Module):
    """Two pre-norm residual branches (attention, then MLP), optionally modulated by a condition (adaLN-Zero, DiT).

    With ``condition_dim``, a zero-initialised ``modulation`` projection maps the
    condition to scale, shift and gate of both branches, and the norms lose their
    affine parameters; at initialisation every branch is gated to zero.
    """

    def __init__(self, config: BlockOptions) -> None:
        super().__init__()
        self.hidden_dim = config.hidden_dim
        self.condition_dim = config.condition_dim
        self.modulation = None
        if config.condition_dim is not None:
            projection = LinearProjectionConfig(
                input_dim=config.condition_dim, output_dim=6 * config.hidden_dim, bias=True, init_weights="zeros"
            )
            self.modulation = LinearProjection(projection)
        self.ls1 = LayerScale(LayerScaleConfig(hidden_dim=config.hidden_dim, init_values=config.layerscale))
        self.drop_path1 = UnquantizedDropPath(UnquantizedDropPathConfig(drop_prob=config.drop_path))
        self.norm2 = self.layer_norm(config, config.hidden_dim)
        self.mlp = UpActDownMlp(
            UpActDownMLPConfig.from_dict(
                {"input_dim": config.hidden_dim, "hidden_dim": config.resolved_mlp_hidden_dim, "bias": config.bias,
                 "init_weights": config.init_weights}
            )
        )  # fmt: skip
        self.ls2 = LayerScale(LayerScaleConfig(hidden_dim=config.hidden_dim, init_values=config.layerscale))
        self.drop_path2 = UnquantizedDropPath(UnquantizedDropPathConfig(drop_prob=config.drop_path))

    def layer_norm(self, config: BlockOptions, dim: int) -> nn.LayerNorm:
        affine = config.condition_dim is None
        return nn.LayerNorm(dim, eps=config.eps, elementwise_affine=affine, bias=affine and config.bias)

    def modulations(self, condition: torch.Tensor | None) -> list[torch.Tensor] | None:
        name = type(self).__name__
        if self.modulation is None:
            if condition is not None:
                raise ValueError(f"{name} got a condition but has no condition_dim")
            return None
        if condition is None:
            raise ValueError(f"{name} has condition_dim={self.condition_dim}: pass condition")
        if condition.shape[-1] != self.condition_dim:
            raise ValueError(f"{name}: condition has {condition.shape[-1]} features, expected {self.condition_dim}")
        mod = self.modulation(condition)
        if mod.ndim == 2:
            mod = mod.unsqueeze(1)  # one condition per sample, broadcast over tokens
        return list(mod.chunk(6, dim=-1))

    def residual(
        self,
        x: torch.Tensor,
        attend: Callable[[torch.Tensor], torch.Tensor],
        normed: torch.Tensor,
        condition: torch.Tensor | None,
    ) -> torch.Tensor:
        """``x`` + attention branch on ``normed`` (the norm of the branch's input), then + MLP branch."""
        mods = self.modulations(condition)
        out: torch.Tensor
        if mods is None:
            x = x + self.drop_path1(self.ls1(attend(normed)))
            out = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
            return out
        scale1, shift1, gate1, scale2, shift2, gate2 = mods
        x = x + self.drop_path1(gate1 * self.ls1(attend(modulate(normed, scale1, shift1))))
        out = x + self.drop_path2(gate2 * self.ls2(self.mlp(modulate(self.norm2(x), scale2, shift2))))
        return out
