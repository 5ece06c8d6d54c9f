"""Synthetic inputs shaped like AB-UPT's: points on and around a car-like body, for demos and benchmarks."""

import torch

# A boxy superellipsoid, 4.4 m long, 1.8 m wide, 1.3 m tall, its underside 0.3 m above the road.
_HALF_AXES = torch.tensor([2.2, 0.9, 0.65])
_CENTER = torch.tensor([0.0, 0.0, 0.95])
_EXPONENT = 4.0
_DOMAIN_LOW, _DOMAIN_HIGH = torch.tensor([-6.0, -4.0, 0.0]), torch.tensor([12.0, 4.0, 4.0])


def _inside(points: torch.Tensor) -> torch.Tensor:
    scaled = ((points - _CENTER) / _HALF_AXES).abs() ** _EXPONENT
    return scaled.sum(-1) < 1.0


def car_surface(count: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``count`` points (count, 3) on the body's surface."""
    directions = torch.randn(count, 3, generator=generator)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    radius = ((directions / _HALF_AXES).abs() ** _EXPONENT).sum(-1) ** (-1 / _EXPONENT)
    points: torch.Tensor = _CENTER + directions * radius.unsqueeze(-1)
    return points


def car_volume(count: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``count`` points (count, 3) in the air around the body (a wind-tunnel box, the body cut out)."""
    out = torch.empty(0, 3)
    while out.shape[0] < count:
        points = _DOMAIN_LOW + torch.rand(2 * count, 3, generator=generator) * (_DOMAIN_HIGH - _DOMAIN_LOW)
        out = torch.cat([out, points[~_inside(points)]])
    return out[:count]


def car_points(domain: str, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Points of a token group's domain: "surface" or "volume" (anything else: the volume)."""
    return car_surface(count, generator) if domain == "surface" else car_volume(count, generator)
