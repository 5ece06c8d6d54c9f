"""``noether-attention predict CHECKPOINT --geometry MESH --output DIR``: a trained AB-UPT on your mesh files.

Every surface and volume point is a query, streamed in chunks against the cached anchors
(flat memory); the predicted fields are written on the meshes as VTU for ParaView, and as
arrays. Files, options and the normaliser file are checked before torch is imported.
"""

import argparse
import contextlib
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from noether.cli import DTYPES
from noether.cli.files import load_file
from noether.cli.measure import measured
from noether.cli.run import compile_stats, processes, require_torch, status, timing
from noether.cli.table import pairs
from noether.core.schemas import ValidationError
from noether.core.schemas.errors import format_loc
from noether.io.mesh import Mesh, read_mesh, read_points
from noether.io.normalizers import Normalizers

BRANCHES = ("surface", "volume")


@attrs.frozen
class Inputs:
    """What ``predict`` reads: the meshes, the points to predict at, the normalisation."""

    geometry: Mesh
    surface: Mesh
    volume_points: np.ndarray | None
    volume_mesh: Mesh | None
    normalizers: Normalizers | None


def read_inputs(args: argparse.Namespace) -> Inputs:
    """Every file ``predict`` needs, read and checked (no torch)."""
    normalizers = None
    if args.normalizers:
        try:
            normalizers = Normalizers.from_dict(load_file(args.normalizers))
        except ValidationError as exc:
            problems = "; ".join(f"{format_loc(e['loc'])}: {e['msg']}" for e in exc.errors()[:20])
            raise ValueError(f"{args.normalizers}: {problems}") from None
    geometry = read_mesh(args.geometry)
    surface = read_mesh(args.surface) if args.surface else geometry
    volume_points, volume_mesh = read_points(args.volume, args.volume_at) if args.volume else (None, None)
    return Inputs(geometry, surface, volume_points, volume_mesh, normalizers)


def parse_conditions(pairs_: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for item in pairs_:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = [float(v) for v in value.split(",")] if sep else []
        except ValueError:
            raise ValueError(f"--condition {item}: expected NAME=NUMBER[,NUMBER...]") from None
        if not sep or not out[name.strip()]:
            raise ValueError(f"--condition {item}: expected NAME=NUMBER[,NUMBER...]")
    return out


def condition_vector(model: Any, given: dict[str, list[float]], normalizers: Normalizers | None) -> np.ndarray | None:
    """The model's conditioning scalars, in its order, normalised as the file says."""
    dims = model.data_specs.conditioning_dims or {}
    unknown, missing = sorted(set(given) - set(dims)), [n for n in dims if n not in given]
    if unknown or missing:
        need = ", ".join(f"{n} ({d} value{'s' if d > 1 else ''})" for n, d in dims.items()) or "none"
        wrong = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
        raise ValueError(f"--condition: the model is conditioned on {need}; {wrong}")
    parts = []
    for name, width in dims.items():
        values = np.asarray(given[name], dtype=np.float64)
        if values.size != width:
            raise ValueError(f"--condition {name}: the model takes {width} value(s), got {values.size}")
        stats = normalizers.conditions.get(name) if normalizers is not None else None
        parts.append(values if stats is None else stats.normalize(values))
    return np.concatenate(parts) if parts else None


def sample_indices(count: int, wanted: int, rng: np.random.Generator) -> np.ndarray:
    """``wanted`` distinct indices below ``count`` (all of them when there are fewer), in ascending order."""
    return np.arange(count) if wanted >= count else np.sort(rng.choice(count, wanted, replace=False))


def model_inputs(model: Any, inputs: Inputs, args: argparse.Namespace, torch: Any) -> tuple[dict[str, Any], list[str]]:
    """The model's keyword inputs (positions normalised, anchors and supernodes drawn with ``--seed``),
    with every surface and volume point as a query; and notes for the output."""
    rng = np.random.default_rng(args.seed)
    positions = inputs.normalizers.positions if inputs.normalizers else None
    notes = []

    def normalized(points: np.ndarray) -> np.ndarray:
        return points if positions is None else positions.normalize(points)

    geometry = inputs.geometry.points[sample_indices(len(inputs.geometry.points), args.geometry_points, rng)]
    supernodes = sample_indices(len(geometry), args.supernodes, rng)
    surface = inputs.surface.points
    volume = inputs.volume_points
    if volume is None:  # the model needs volume anchors: drawn in the box the car is in
        low, high = geometry.min(axis=0), geometry.max(axis=0)
        centre, half = (low + high) / 2, (high - low) * 0.75
        volume_anchors = rng.uniform(centre - half, centre + half, size=(args.anchors, 3))
        notes.append(f"no --volume: {args.anchors:,} volume anchors drawn uniformly around the geometry")
    else:
        volume_anchors = volume[sample_indices(len(volume), args.anchors, rng)]
    surface_anchors = surface[sample_indices(len(surface), args.anchors, rng)]
    if positions is not None:
        outside = sum(
            positions.outside(normalized(p)) for p in (geometry, surface, *(() if volume is None else (volume,)))
        )
        if outside:
            notes.append(f"{outside:,} points lie outside the training box of the position normaliser")

    def tensor(points: np.ndarray) -> Any:
        return torch.as_tensor(normalized(points), dtype=torch.float32, device=args.device)

    given = {
        "geometry_position": tensor(geometry),
        "geometry_supernode_idx": torch.as_tensor(supernodes, device=args.device),
        "geometry_batch_idx": torch.zeros(len(geometry), dtype=torch.long, device=args.device),
        "surface_anchor_position": tensor(surface_anchors)[None],
        "volume_anchor_position": tensor(volume_anchors)[None],
        "query_surface_position": tensor(surface)[None],
        "query_volume_position": None if volume is None else tensor(volume)[None],
    }
    condition = condition_vector(model, parse_conditions(args.condition), inputs.normalizers)
    if condition is not None:
        given["inflow_design_parameters"] = torch.as_tensor(condition, dtype=torch.float32, device=args.device)[None]
    return given, notes


def fields_of(predictions: dict[str, Any], branch: str, normalizers: Normalizers | None) -> dict[str, np.ndarray]:
    """The query predictions of ``branch`` by field name, (points, channels), in the field's units."""
    out = {}
    for key, value in predictions.items():
        prefix = f"query_{branch}_"
        if key.startswith(prefix):
            name = key.removeprefix(prefix)
            array = value[0].float().cpu().numpy().astype(np.float64)
            stats = normalizers.fields.get(f"{branch}_{name}") if normalizers is not None else None
            out[name] = array if stats is None else stats.denormalize(array)
    return out


def _for_vtk(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: v[:, 0] if v.shape[1] == 1 else v for name, v in fields.items()}  # scalars as scalars


def write_outputs(args: argparse.Namespace, inputs: Inputs, fields: dict[str, dict[str, np.ndarray]]) -> list[str]:
    out = Path(args.output)
    from noether.io.mesh import write_vtu

    written = [str(write_vtu(out / "surface.vtu", inputs.surface, point_data=_for_vtk(fields["surface"])))]
    if inputs.volume_points is not None:
        if inputs.volume_mesh is not None and args.volume_at == "cells":
            path = write_vtu(out / "volume.vtu", inputs.volume_mesh, cell_data=_for_vtk(fields["volume"]))
        else:
            mesh = inputs.volume_mesh or Mesh(inputs.volume_points)
            path = write_vtu(out / "volume.vtu", mesh, point_data=_for_vtk(fields["volume"]))
        written.append(str(path))
    arrays = {"surface_points": inputs.surface.points, **{f"surface_{k}": v for k, v in fields["surface"].items()}}
    if inputs.volume_points is not None:
        arrays |= {"volume_points": inputs.volume_points, **{f"volume_{k}": v for k, v in fields["volume"].items()}}
    np.savez(out / "predictions.npz", **arrays)  # type: ignore[arg-type]  # numpy types allow_pickle among the names
    written.append(str(out / "predictions.npz"))
    if args.plot:
        from noether.io.plot import plot_surface

        units = (
            {name: inputs.normalizers.unit(f"surface_{name}") for name in fields["surface"]}
            if inputs.normalizers
            else {}
        )
        written.append(str(plot_surface(out / "surface.png", inputs.surface, fields["surface"], units)))
    return written


def predict(args: argparse.Namespace) -> int:
    if args.dtype not in DTYPES:
        raise ValueError(f"--dtype {args.dtype}: use one of {', '.join(DTYPES)}")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out}: exists and is not a folder")
    status(args, "reading the mesh files")
    inputs = read_inputs(args)
    status(args, "importing torch")
    torch = require_torch()
    from noether.modeling.checkpoint import build, read_checkpoint
    from noether.modeling.models.ab_upt.module import AnchoredBranchedUPT

    status(args, f"loading {args.checkpoint}")
    checkpoint = read_checkpoint(args.checkpoint, map_location=args.device)
    model: Any = build(checkpoint, AnchoredBranchedUPT)
    specs = model.data_specs
    channels = {f"{b}_{name}": dim for b in BRANCHES for name, dim in specs.output_dims(b).items()}
    if inputs.normalizers is not None:
        inputs.normalizers.check_against(channels, specs.position_dim)
    given, notes = model_inputs(model, inputs, args, torch)
    dtype = getattr(torch, args.dtype)
    autocast = (torch.autocast(device_type=torch.device(args.device).type, dtype=dtype)
                if args.dtype != "float32" else contextlib.nullcontext())  # fmt: skip
    stats = compile_stats(args)
    with processes(torch) as (rank, world):
        with torch.no_grad(), autocast, measured() as m:
            predictions = model.stream(**given, chunk_size=args.chunk_size, gather="rank0", compile=args.compile,
                                       stats=stats, progress=False if args.no_progress else None)  # fmt: skip
        if rank != 0:
            return 0
        fields = {b: fields_of(predictions, b, inputs.normalizers) for b in BRANCHES}
        out.mkdir(parents=True, exist_ok=True)
        written = write_outputs(args, inputs, fields)
    queries = sum(len(p) for p in (inputs.surface.points, inputs.volume_points) if p is not None)
    tag = checkpoint.metadata.get("checkpoint_tag")
    rows = [
        ("checkpoint", f"{args.checkpoint} ({checkpoint.config_kind.rpartition('.')[2]}"
                       f"{f', tag {tag}' if tag else ''})"),
        ("points", f"geometry {len(given['geometry_position']):,} ({len(given['geometry_supernode_idx']):,} "
                   f"supernodes), anchors {given['surface_anchor_position'].shape[1]:,} + "
                   f"{given['volume_anchor_position'].shape[1]:,}, queries {len(inputs.surface.points):,} + "
                   f"{0 if inputs.volume_points is None else len(inputs.volume_points):,} (surface + volume)"),
        ("fields", "de-normalised by " + str(args.normalizers) if inputs.normalizers and inputs.normalizers.fields
                   else "the model's raw (normalised) outputs: no --normalizers given"),
        ("precision", args.dtype if args.dtype == "float32" else f"{args.dtype} (autocast)"),
        *timing(m, stats or {}, queries, "query points/s"),
        *(("note", note) for note in notes),
        *(("written", path) for path in written),
    ]  # fmt: skip
    if world > 1:
        rows.append(("processes", f"{world} (torchrun): query points split across them"))
    print(pairs(rows))
    return 0
