import torch
import torch.nn.functional as F
from torch import nn

from noether.core.schemas.modules.attention import AttentionConfig
from noether.modeling.functional.init import init_linears
from noether.modeling.modules.attention.transolver.module import SliceAttention, linear, zero_
from noether.modeling.modules.attention.transolver_plusplus.config import TransolverPlusPlusAttentionConfig
from noether.modeling.modules.factory import Device


class Exp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


_ACTIVATIONS: dict[str | None, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "exp": Exp,
    None: nn.Identity,
}


def gumbel_noise(like: torch.Tensor) -> torch.Tensor:
    eps = torch.finfo(like.dtype).eps
    uniform = torch.rand_like(like)
    return -torch.log(-torch.log(uniform + eps) + eps)


class TransolverPlusPlusAttention(SliceAttention):
    """Transolver++ physics-attention with eidetic states.

    The slice temperature adapts per token (``bias`` plus a small MLP of the
    token), and slice assignment is reparameterised with Gumbel-softmax noise
    while training only, so eval is deterministic (1.x drew noise in eval too).
    One projection (``in_project_x``, always with a bias and PyTorch's init, as in
    1.x) feeds both the assignment and the slice features.
    """

    def __init__(self, config: AttentionConfig, *, device: Device = None, dtype: torch.dtype | None = None) -> None:
        config = TransolverPlusPlusAttentionConfig.coerce(config)
        super().__init__(config)
        d, hidden, mode, slices = self.head_dim, config.hidden_dim, config.init_weights, config.num_slices
        self.use_gumbel_softmax = config.use_gumbel_softmax
        self.bias = nn.Parameter(torch.full((1, config.num_heads, 1, 1), 0.5))
        self.proj_temperature: nn.Module | None = None
        if config.use_adaptive_temperature:
            layers: list[nn.Module] = (
                [linear(d, slices, config.bias, mode), nn.GELU(), linear(slices, 1, config.bias, mode), nn.GELU()]
                if config.use_overparameterization  # Transolver++'s MLP: GELU after both layers
                else [linear(d, 1, config.bias, mode), _ACTIVATIONS[config.temperature_activation]()]
            )
            self.proj_temperature = nn.Sequential(*layers)
        self.in_project_x = nn.Linear(hidden, hidden)
        self.in_project_slice = linear(d, slices, config.bias, mode)
        if mode == "zeros":
            init_linears(type(self).__name__, mode, [self.in_project_x])
        else:
            nn.init.orthogonal_(self.in_project_slice.project.get_parameter("weight"))
        self.qkv = linear(d, 3 * d, config.bias, mode)
        self.to_out = nn.Sequential(linear(hidden, hidden, config.bias, mode), nn.Dropout(config.dropout))
        if mode == "truncnormal002-identity":
            zero_(self.to_out[0])

    def forward(self, x: torch.Tensor, *, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (batch, tokens, hidden) -> same shape; ``key_padding_mask``: bool (batch, tokens), True = real."""
        self.check_inputs(x, key_padding_mask)
        features = self.heads(self.in_project_x(x))
        temperature = self.bias if self.proj_temperature is None else self.proj_temperature(features) + self.bias
        logits = self.in_project_slice(features)
        if self.use_gumbel_softmax and self.training:
            logits = logits + gumbel_noise(logits)
        weights = F.softmax(logits / temperature.clamp(min=0.01), dim=-1)
        weights = self.drop_padding(weights, key_padding_mask)
        out: torch.Tensor = self.to_out(self.attend_slices(self.pool(features, weights), weights, self.qkv))
        return out
