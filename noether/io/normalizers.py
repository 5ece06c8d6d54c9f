"""The normalisation a model was trained with, as emmiai-noether 1.x configured it.

Positions go into the model through 1.x's ``PositionNormalizerConfig`` (``raw_pos_min``,
``raw_pos_max``, ``scale``, ``zero_center``); predicted fields come out through the inverse of
its ``MeanStdNormalizerConfig`` (``mean``, ``std``, ``logscale``). A normaliser file holds both::

    positions: {raw_pos_min: [-1.0, -1.0, 0.0], raw_pos_max: [4.0, 1.0, 1.5], scale: 1000}
    fields:
      surface_pressure: {mean: [-120.5], std: [210.0], unit: Pa}
      volume_velocity: {mean: [30.0, 0.0, 0.0], std: [10.0, 5.0, 5.0], unit: m/s}

Fields are named as the model names its outputs: ``<branch>_<field>`` (surface pressure and
volume pressure have statistics of their own).
"""

import numpy as np

from noether.core.schemas import Config, config, field, model_validator

EPSILON = 1e-6
"""1.x clamps standard deviations to at least this before dividing by them."""


def _values(value: float | list[float]) -> np.ndarray:
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


@config
class PositionNormalizerConfig(Config):
    """1.x's position normaliser: raw coordinates linearly into [0, scale] (or [-scale, scale])."""

    kind: str | None = field(default=None, description="1.x's class path; not used here.")
    raw_pos_min: float | list[float] = field(description="Smallest raw coordinate of the training data, per axis.")
    raw_pos_max: float | list[float] = field(description="Largest raw coordinate of the training data, per axis.")
    scale: float = field(default=1000.0, ge=0.0, description="Normalised coordinates span [0, scale].")
    zero_center: bool = field(default=False, description="Span [-scale, scale] instead.")

    @model_validator
    def check_box(self) -> None:
        low, high = _values(self.raw_pos_min), _values(self.raw_pos_max)
        if low.shape != high.shape:
            raise ValueError(f"raw_pos_min and raw_pos_max need the same length, got {low.size} and {high.size}")
        if (high <= low).any():
            raise ValueError(f"raw_pos_max must exceed raw_pos_min on every axis, got {high} and {low}")
        if self.scale <= 0:
            raise ValueError(f"scale must be positive, got {self.scale}")

    def shift_and_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """``normalised = (raw + shift) * scale``, as 1.x computes it."""
        low, high = _values(self.raw_pos_min), _values(self.raw_pos_max)
        if self.zero_center:
            return -(high + low) / 2, 2 * self.scale / (high - low)
        return -low, self.scale / (high - low)

    def normalize(self, points: np.ndarray) -> np.ndarray:
        shift, scale = self.shift_and_scale()
        if shift.size not in (1, points.shape[-1]):
            raise ValueError(f"the position normaliser has {shift.size} axes, the points have {points.shape[-1]}")
        out: np.ndarray = (points + shift) * scale
        return out

    def outside(self, normalized: np.ndarray) -> int:
        """How many points lie outside the box the model was trained on."""
        upper = self.scale * (1 + EPSILON)
        lower = -upper if self.zero_center else -self.scale * EPSILON
        return int(((normalized < lower) | (normalized > upper)).any(axis=-1).sum())


@config
class MeanStdNormalizerConfig(Config):
    """1.x's mean/std normaliser of a field; predictions are mapped back through its inverse."""

    kind: str | None = field(default=None, description="1.x's class path; not used here.")
    mean: float | list[float] = field(description="Mean of the field (per channel), in log scale if logscale.")
    std: float | list[float] = field(description="Standard deviation (per channel); clamped to at least 1e-6.")
    logscale: bool = field(default=False, description="The statistics are of sign(x) * log(1 + |x|).")
    unit: str | None = field(default=None, description="Unit of the field, shown on plots (ours, not 1.x's).")

    @model_validator
    def check_stats(self) -> None:
        mean, std = _values(self.mean), _values(self.std)
        if mean.shape != std.shape:
            raise ValueError(f"mean and std need the same length, got {mean.size} and {std.size}")
        if (std <= 0).any():
            raise ValueError(f"std must be positive, got {std}")

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """Values in the field's own units as the model takes them."""
        values = np.sign(values) * np.log1p(np.abs(values)) if self.logscale else values
        out: np.ndarray = (values - _values(self.mean)) / np.maximum(_values(self.std), EPSILON)
        return out

    def denormalize(self, values: np.ndarray) -> np.ndarray:
        """Model outputs (points, channels) in the field's own units."""
        mean, std = _values(self.mean), np.maximum(_values(self.std), EPSILON)
        out: np.ndarray = values * std + mean
        return np.sign(out) * np.expm1(np.abs(out)) if self.logscale else out


@config
class Normalizers(Config):
    """A normaliser file: the positions', each predicted field's and each conditioning scalar's."""

    positions: PositionNormalizerConfig | None = field(default=None, description="How coordinates were normalised.")
    fields: dict[str, MeanStdNormalizerConfig] = field(
        factory=dict, description="Output name (surface_pressure, volume_velocity, ...) -> its normaliser."
    )
    conditions: dict[str, MeanStdNormalizerConfig] = field(
        factory=dict, description="Conditioning scalar -> its normaliser (given values are normalised by it)."
    )

    def check_against(self, channels: dict[str, int], dims: int) -> None:
        """Refuse a normaliser that does not fit the model: unknown fields, wrong lengths."""
        unknown = sorted(set(self.fields) - set(channels))
        if unknown:
            raise ValueError(f"normalisers for fields the model does not predict: {unknown}; it predicts "
                             f"{sorted(channels)}")  # fmt: skip
        for name, normalizer in self.fields.items():
            size = _values(normalizer.mean).size
            if size not in (1, channels[name]):
                raise ValueError(f"the normaliser of {name!r} has {size} values; the model predicts "
                                 f"{channels[name]} channel{'s' if channels[name] > 1 else ''}")  # fmt: skip
        if self.positions is not None and _values(self.positions.raw_pos_min).size not in (1, dims):
            size = _values(self.positions.raw_pos_min).size
            raise ValueError(f"the position normaliser has {size} axes; the model takes {dims}")

    def unit(self, name: str) -> str | None:
        normalizer = self.fields.get(name)
        return None if normalizer is None else normalizer.unit
