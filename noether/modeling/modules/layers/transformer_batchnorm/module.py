import torch
import torch.nn.functional as F
from torch import nn

from noether.modeling.contract import InputError
from noether.modeling.modules.factory import Device, FactoryModule


class TransformerBatchNorm(FactoryModule):
    """Batch norm over the tokens of each sample (each sample is its own batch), with LayerNorm's interface.

    Statistics are always those of the input (no running statistics), so train and
    eval agree; it holds no ``nn.BatchNorm1d``, so ``nn.SyncBatchNorm`` conversion
    leaves it alone.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if bias and not elementwise_affine:
            raise ValueError("TransformerBatchNorm: bias needs elementwise_affine")
        self.num_features, self.eps, self.elementwise_affine = num_features, eps, elementwise_affine
        self.weight = nn.Parameter(torch.ones(num_features)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (batch, tokens, num_features) -> same shape, normalised per sample and feature over the tokens."""
        if x.ndim != 3 or x.shape[-1] != self.num_features:
            raise InputError(
                f"TransformerBatchNorm: x must be (batch, tokens, {self.num_features}), got {tuple(x.shape)}"
            )
        if x.shape[0] == 1:  # one sample: the fused kernel over its tokens
            normed = F.batch_norm(x.transpose(1, 2), None, None, self.weight, self.bias, training=True, eps=self.eps)
            return normed.transpose(1, 2)
        mean = x.mean(dim=1, keepdim=True)
        out = (x - mean) / (x.var(dim=1, keepdim=True, unbiased=False) + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
