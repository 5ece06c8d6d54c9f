import math
import typing

import pytest
import torch
from torch import nn

from noether.core.schemas import ValidationError
from noether.core.schemas.modules import TransformerBlockConfig, UpActDownMLPConfig
from noether.core.types import InitWeightsMode
from noether.modeling.modules import MLP, MLPConfig, TransformerBlock, UpActDownMlp
from noether.modeling.modules.layers import (
    LinearProjection,
    LinearProjectionConfig,
    RopeFrequency,
    RopeFrequencyConfig,
    rope,
)


class TestLinearProjection:
    @pytest.mark.parametrize(("ndim", "kind"), [(None, nn.Linear), (1, nn.Conv1d), (2, nn.Conv2d), (3, nn.Conv3d)])
    def test_kinds(self, ndim, kind):
        layer = LinearProjection(LinearProjectionConfig(input_dim=4, output_dim=6, ndim=ndim))
        assert isinstance(layer.project, kind)
        assert set(layer.state_dict()) == {"project.weight", "project.bias"}

    def test_optional_identity(self):
        layer = LinearProjection(LinearProjectionConfig(input_dim=4, output_dim=4, optional=True))
        assert isinstance(layer.project, nn.Identity)
        x = torch.randn(2, 4)
        assert layer(x) is x

    def test_truncnormal_init_draws_what_1x_drew(self):
        torch.manual_seed(3)
        layer = LinearProjection(LinearProjectionConfig(input_dim=256, output_dim=256, init_weights="truncnormal002"))
        torch.manual_seed(3)
        expected = nn.Linear(256, 256)  # 1.x: construct, then trunc_normal_ with std 0.02 and torch's bounds
        nn.init.trunc_normal_(expected.weight, std=0.02)
        assert torch.equal(layer.project.weight, expected.weight)
        assert 0.019 < layer.project.weight.std().item() < 0.021
        assert torch.equal(layer.project.bias, torch.zeros(256))

    def test_zeros_init(self):
        layer = LinearProjection(LinearProjectionConfig(input_dim=3, output_dim=2, init_weights="zeros"))
        assert torch.equal(layer(torch.randn(5, 3)), torch.zeros(5, 2))

    def test_unsupported_init_is_config_error(self):
        with pytest.raises(ValidationError, match="init_weights"):
            LinearProjectionConfig(input_dim=3, output_dim=2, init_weights="torchs")

    @pytest.mark.parametrize("mode", typing.get_args(InitWeightsMode))
    def test_every_mode_everywhere(self, mode):
        """No module remaps or refuses a mode the configs offer."""
        x = torch.randn(4, 6)
        mlp = MLP(MLPConfig(input_dim=6, hidden_dim=8, num_layers=1, init_weights=mode))
        up = UpActDownMlp(UpActDownMLPConfig(input_dim=6, hidden_dim=12, init_weights=mode))
        block = TransformerBlock(
            TransformerBlockConfig(hidden_dim=6, num_heads=2, mlp_expansion_factor=2, init_weights=mode)
        )
        zero_output = mode in ("zeros", "truncnormal002-identity")
        for output in (mlp.mlp[-1], up.fc2, block.mlp.fc2):
            assert bool(output.weight.abs().sum() == 0) is zero_output
        assert block(x[None]).shape == (1, 4, 6)


class TestRope:
    def test_frequencies_shape_and_unit_norm(self):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=16, input_dim=3, implementation="complex"))
        out = freq(torch.randn(2, 5, 3))
        assert out.shape == (2, 5, 8)
        assert out.is_complex()
        torch.testing.assert_close(out.abs(), torch.ones(2, 5, 8))
        # 8 pairs, 3 axes: 2 pairs per axis, 2 padded pairs that do not rotate
        assert torch.equal(out[..., 6:], torch.ones(2, 5, 2, dtype=out.dtype))

    def test_angles(self):
        freq = RopeFrequency(
            RopeFrequencyConfig(hidden_dim=8, input_dim=1, max_wavelength=100.0, implementation="complex")
        )
        coords = torch.tensor([[2.0]])
        expected = torch.tensor([2.0 * 100.0 ** (-i / 4) for i in range(4)])
        torch.testing.assert_close(freq(coords).angle()[0], expected)

    @pytest.mark.parametrize("implementation", ["complex", "real"])
    def test_rotation_preserves_norm_and_relative_positions(self, implementation):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=8, input_dim=2, implementation=implementation))
        q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
        a, b = torch.tensor([[0.3, 1.0]]), torch.tensor([[1.3, -2.0]])
        shift = torch.tensor([[5.0, 7.0]])
        dot = (rope(q, freq(a)) * rope(k, freq(b))).sum()
        shifted = (rope(q, freq(a + shift)) * rope(k, freq(b + shift))).sum()
        torch.testing.assert_close(dot, shifted, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(rope(q, freq(a)).norm(), q.norm())

    def test_real_valued_rotations_are_the_complex_multiplication_of_1x(self):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=16, input_dim=3, implementation="complex"))
        coords, x = torch.randn(2, 5, 3), torch.randn(2, 4, 5, 16)
        rotations = freq.rotations(coords)
        assert rotations.shape == (2, 5, 16)
        assert not rotations.is_complex()
        complex_ = freq(coords)
        torch.testing.assert_close(rotations, torch.cat([complex_.real, complex_.imag], dim=-1))
        as_1x = torch.view_as_real(torch.view_as_complex(x.reshape(2, 4, 5, 8, 2)) * complex_.unsqueeze(1)).flatten(-2)
        torch.testing.assert_close(rope(x, rotations), as_1x, atol=1e-6, rtol=0)
        torch.testing.assert_close(rope(x, complex_), as_1x, atol=1e-6, rtol=0)  # 1.x's complex form still rotates
        real = RopeFrequency(RopeFrequencyConfig(hidden_dim=10, input_dim=2))
        coords = torch.randn(3, 7, 2)
        assert all(torch.equal(a, b) for a, b in zip(real.rotations(coords), real(coords), strict=True))

    @pytest.mark.parametrize(("batch", "tokens"), [(0, 5), (2, 0)])
    def test_empty_inputs_rotate_to_empty_outputs(self, batch, tokens):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=8, input_dim=3, implementation="complex"))
        x, coords = torch.randn(batch, 2, tokens, 8), torch.randn(batch, tokens, 3)
        assert rope(x, freq.rotations(coords)).shape == (batch, 2, tokens, 8)
        assert rope(x, freq(coords)).shape == (batch, 2, tokens, 8)

    def test_real_rotates_each_axis_by_halves_like_1x(self):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=10, input_dim=2))  # 1.x's default: "real"
        assert freq.implementation == "real"
        coords = torch.randn(3, 7, 2)
        angles = freq(coords)  # one tensor per axis: 2 frequencies, repeated for both halves
        assert [tuple(a.shape) for a in angles] == [(3, 7, 4), (3, 7, 4)]
        torch.testing.assert_close(angles[1][..., :2], coords[..., 1:2] * freq.omega)
        x = torch.randn(3, 2, 7, 10)
        out = rope(x, angles)
        for axis in range(2):
            part, a = x[..., 4 * axis : 4 * axis + 4], angles[axis].unsqueeze(1)
            halves = torch.cat([-part[..., 2:], part[..., :2]], dim=-1)
            torch.testing.assert_close(out[..., 4 * axis : 4 * axis + 4], part * a.cos() + halves * a.sin())
        assert torch.equal(out[..., 8:], x[..., 8:])  # padding features pass unchanged

    def test_errors(self):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=8, input_dim=3, implementation="complex"))
        with pytest.raises(ValueError, match="expects coordinates with 3 dims, got 2"):
            freq(torch.randn(4, 2))
        with pytest.raises(ValueError, match="freqs cover 8 features per head, but heads have 6"):
            rope(torch.randn(1, 1, 4, 6), freq(torch.randn(4, 3)))
        with pytest.raises(ValueError, match=r"freqs must be rotations from RopeFrequency \(float or complex\), got "
                           "dtype torch.int64"):  # fmt: skip
            rope(torch.randn(1, 1, 4, 8), torch.ones(4, 8, dtype=torch.long))
        with pytest.raises(ValueError, match="freqs cover 4 features per head, but heads have 8"):
            rope(torch.randn(1, 1, 4, 8), torch.randn(4, 4))
        with pytest.raises(ValueError, match=r"at least 2 \* input_dim, got hidden_dim=4, input_dim=3"):
            RopeFrequency(RopeFrequencyConfig(hidden_dim=4, input_dim=3))

    def test_wavelengths_are_geometric(self):
        freq = RopeFrequency(RopeFrequencyConfig(hidden_dim=12, input_dim=2, max_wavelength=10000.0))
        ratios = freq.omega[1:] / freq.omega[:-1]
        torch.testing.assert_close(ratios, torch.full_like(ratios, 10000.0 ** (-1 / 3)))
        assert math.isclose(freq.omega[0].item(), 1.0)
