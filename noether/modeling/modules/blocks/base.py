"""What transformer and Perceiver blocks share: norms, residual branches, adaLN modulation, attention calls."""

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from noether.modeling.contract import InputError, capabilities, check_tensor
from noether.modeling.functional.modulation import modulate_gate, modulate_scale_shift
from noether.modeling.modules.blocks.transformer.config import BlockOptions
from noether.modeling.modules.factory import FactoryModule
from noether.modeling.modules.layers.drop_path.config import UnquantizedDropPathConfig
from noether.modeling.modules.layers.drop_path.module import UnquantizedDropPath
from noether.modeling.modules.layers.layer_scale.config import LayerScaleConfig
from noether.modeling.modules.layers.layer_scale.module import LayerScale
from noether.modeling.modules.layers.linear_projection.config import LinearProjectionConfig
from noether.modeling.modules.layers.linear_projection.module import LinearProjection
from noether.modeling.modules.mlp.up_act_down_mlp.config import UpActDownMLPConfig
from noether.modeling.modules.mlp.up_act_down_mlp.module import UpActDownMlp


class AttentionCall:
    """The keywords a block hands its attention: those the attention declares (the module contract)."""

    def __init__(self, owner: str, name: str, attention: nn.Module) -> None:
        self.owner, self.name, self.declared = owner, name, capabilities(attention)

    def kwargs(self, given: dict[str, Any]) -> dict[str, Any]:
        out = {key: value for key, value in given.items() if value is not None}
        refused = sorted(key for key in out if key not in self.declared.accepts)
        if refused:
            takes = ", ".join(sorted(self.declared.accepts)) or "no keywords"
            raise InputError(
                f"{self.owner}: attention {self.name!r} ({self.declared.name}) does not take {', '.join(refused)}; "
                f"it takes {takes}"
            )
        return out


class ResidualBlock(FactoryModule):
    """Two pre-norm residual branches (attention, then MLP), optionally modulated by a condition (adaLN-Zero, DiT).

    With ``condition_dim``, a zero-initialised ``modulation`` projection maps the
    condition to scale/shift of each attention input, a gate of the attention
    branch, and scale, shift and gate of the MLP branch; the norms lose their
    affine parameters, and at initialisation every branch is gated to zero.
    Layers are created in 1.x's order (modulation, attention, MLP), so a seeded
    block starts from 1.x's weights.
    """

    def __init__(self, config: BlockOptions) -> None:
        super().__init__()
        self.hidden_dim = config.hidden_dim
        self.condition_dim = config.condition_dim
        self.modulated_inputs = config.modulated_inputs
        self.modulation = None
        if config.condition_dim is not None:
            width = (2 * config.modulated_inputs + 4) * config.hidden_dim
            projection = LinearProjectionConfig(
                input_dim=config.condition_dim, output_dim=width, bias=True, init_weights="zeros"
            )
            self.modulation = LinearProjection(projection)
        self.build_attention(config)
        self.ls1 = LayerScale(LayerScaleConfig(hidden_dim=config.hidden_dim, init_values=config.layerscale))
        self.drop_path1 = UnquantizedDropPath(UnquantizedDropPathConfig(drop_prob=config.drop_path))
        self.norm2 = self.layer_norm(config, config.hidden_dim)
        assert config.mlp_hidden_dim is not None  # the config derives it
        self.mlp = UpActDownMlp(
            UpActDownMLPConfig.from_dict(
                {"input_dim": config.hidden_dim, "hidden_dim": config.mlp_hidden_dim, "bias": config.bias,
                 "init_weights": config.init_weights}
            )
        )  # fmt: skip
        self.ls2 = LayerScale(LayerScaleConfig(hidden_dim=config.hidden_dim, init_values=config.layerscale))
        self.drop_path2 = UnquantizedDropPath(UnquantizedDropPathConfig(drop_prob=config.drop_path))

    def build_attention(self, config: Any) -> None:
        """Create the norm(s) of the attention's inputs and the attention itself."""
        raise NotImplementedError

    def declare(self, name: str, attention: nn.Module) -> None:
        """The block takes what its attention takes, and a condition."""
        self._call = AttentionCall(type(self).__name__, name, attention)
        self.accepts = self._call.declared.accepts | {"condition"}
        self.can_prefill = self._call.declared.can_prefill

    def layer_norm(self, config: BlockOptions, dim: int) -> nn.LayerNorm:
        affine = config.condition_dim is None
        return nn.LayerNorm(dim, eps=config.eps, elementwise_affine=affine, bias=affine and config.bias)

    def modulations(self, condition: torch.Tensor | None, x: torch.Tensor) -> list[torch.Tensor] | None:
        """The scales, shifts and gates of ``condition`` (batch, condition_dim), for ``x`` (its batch)."""
        name = type(self).__name__
        if self.modulation is None:
            if condition is not None:
                raise InputError(f"{name} got a condition but has no condition_dim")
            return None
        if condition is None:
            raise InputError(f"{name} has condition_dim={self.condition_dim}: pass condition")
        if isinstance(condition, torch.Tensor) and condition.ndim == 2 and condition.shape[-1] != self.condition_dim:
            raise InputError(f"{name}: condition has {condition.shape[-1]} features, expected {self.condition_dim}; "
                             f"got {tuple(condition.shape)}")  # fmt: skip
        sizes = {"batch": x.shape[0], "condition_dim": int(self.condition_dim or 0)}
        check_tensor(name, "condition", condition, "batch condition_dim", sizes, like=self.reference_weight())
        return list(self.modulation(condition).chunk(2 * self.modulated_inputs + 4, dim=-1))

    def check_input(self, name: str, x: torch.Tensor, width: int) -> None:
        check_tensor(type(self).__name__, name, x, "batch tokens width", {"width": width}, like=self.reference_weight())

    def reference_weight(self) -> torch.Tensor:
        """A weight of the block, whose device and dtype its inputs share."""
        return next(self.mlp.parameters())

    def residual(
        self,
        x: torch.Tensor,
        attend: Callable[[Sequence[torch.Tensor]], torch.Tensor],
        condition: torch.Tensor | None,
    ) -> torch.Tensor:
        """``x`` + attention branch, then + MLP branch.

        ``attend`` gets the scales and shifts of the attention's inputs (empty when
        the block is not conditioned) and returns the attention's output.
        """
        self.check_input("q" if len(self.inputs) == 2 else "x", x, self.hidden_dim)
        mods = self.modulations(condition, x)
        out: torch.Tensor
        if mods is None:
            x = x + self.drop_path1(self.ls1(attend(())))
            out = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
            return out
        *inputs, gate1, scale2, shift2, gate2 = mods
        x = x + self.drop_path1(modulate_gate(self.ls1(attend(inputs)), gate1))
        mlp = self.mlp(modulate_scale_shift(self.norm2(x), scale2, shift2))
        out = x + self.drop_path2(modulate_gate(self.ls2(mlp), gate2))
        return out
