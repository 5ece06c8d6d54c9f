"""Mesh and point files in, ParaView-ready VTU files out.

meshio reads and writes the mesh formats; VTK's XML PolyData (``.vtp``, the usual format of
car surfaces) it does not know, so those go through VTK's own reader. Arrays of points
come as ``.npy``, ``.npz`` (one array) or ``.pt`` (a tensor). Every file is checked before
any work: a regular file, a known format, points that are finite and three-dimensional.
"""

import itertools
import os
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np

from noether import install_hint

SURFACE_FORMATS = (".stl", ".obj", ".ply", ".vtp", ".vtk", ".vtu")
VOLUME_FORMATS = (".vtu", ".vtk", ".npy", ".npz", ".pt")
ARRAY_FORMATS = (".npy", ".npz", ".pt")
Where = Literal["points", "cells"]


class MeshFileError(ValueError):
    """A mesh or point file that cannot be used; the message names the file and the problem."""


@attrs.frozen
class Mesh:
    """Points (n, 3) and meshio-style cell blocks ``[(kind, (cells, corners)), ...]``."""

    points: np.ndarray
    cells: list[tuple[str, np.ndarray]] = attrs.field(factory=list)

    def cell_centres(self) -> np.ndarray:
        """The mean of each cell's corners, in the order of the cell blocks."""
        if not self.cells:
            raise ValueError("the mesh has no cells to take centres of")
        return np.concatenate([self.points[corners].mean(axis=1) for _, corners in self.cells])

    def triangles(self) -> np.ndarray:
        """Every surface cell as triangles (polygons fanned from their first corner): (m, 3) indices."""
        out = []
        for kind, corners in self.cells:
            if kind in ("triangle", "quad", "polygon") or kind.startswith("polygon"):
                for k in range(1, corners.shape[1] - 1):
                    out.append(corners[:, [0, k, k + 1]])
        return np.concatenate(out) if out else np.empty((0, 3), dtype=np.int64)


def _checked_path(path: str | os.PathLike[str], formats: tuple[str, ...], what: str) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise MeshFileError(f"{path}: {what} files are {', '.join(formats)}, not {suffix or 'a file without suffix'}")
    if not path.exists():
        raise MeshFileError(f"{path}: no such file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise MeshFileError(f"{path}: not a regular file")
    return path


def _checked_points(points: Any, path: Path) -> np.ndarray:
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[0] == 0:
        shape = "no points" if points.size == 0 else f"an array of shape {points.shape}"
        raise MeshFileError(f"{path}: expected points of shape (n, 3), got {shape}")
    if points.shape[1] != 3:
        raise MeshFileError(f"{path}: points need 3 coordinates (x, y, z), got {points.shape[1]} per point")
    if not np.issubdtype(points.dtype, np.number):
        raise MeshFileError(f"{path}: points must be numbers, got {points.dtype}")
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise MeshFileError(f"{path}: {int(bad.sum()):,} points have NaN or infinite coordinates "
                            f"(the first is {int(np.argmax(bad))})")  # fmt: skip
    out: np.ndarray = points.astype(np.float64, copy=False)
    return out


def _meshio() -> Any:
    try:
        import meshio
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"reading mesh files needs meshio: {install_hint('mesh')}", name="meshio") from None
    return meshio


def _read_vtp(path: Path) -> Mesh:
    try:
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from vtkmodules.vtkIOXML import vtkXMLPolyDataReader
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"reading .vtp files needs vtk: {install_hint('mesh')}", name="vtk") from None
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    data = reader.GetOutput()
    if data is None or data.GetPoints() is None:
        raise MeshFileError(f"{path}: VTK read no points from it (not a VTK XML PolyData file?)")
    points = vtk_to_numpy(data.GetPoints().GetData())
    polys = data.GetPolys()
    offsets = vtk_to_numpy(polys.GetOffsetsArray()) if polys.GetNumberOfCells() else np.zeros(1, dtype=np.int64)
    connectivity = vtk_to_numpy(polys.GetConnectivityArray()) if polys.GetNumberOfCells() else np.empty(0)
    cells: dict[int, list[np.ndarray]] = {}
    for start, stop in itertools.pairwise(offsets):
        cells.setdefault(int(stop - start), []).append(connectivity[start:stop])
    kinds = {3: "triangle", 4: "quad"}
    blocks = [(kinds.get(n, f"polygon{n}"), np.stack(c).astype(np.int64)) for n, c in sorted(cells.items())]
    return Mesh(_checked_points(points, path), blocks)


def read_mesh(path: str | os.PathLike[str], formats: tuple[str, ...] = SURFACE_FORMATS) -> Mesh:
    """A mesh file's points and cells."""
    path = _checked_path(path, formats, "mesh")
    if path.suffix.lower() == ".vtp":
        return _read_vtp(path)
    meshio = _meshio()
    try:
        mesh = meshio.read(path)
    except Exception as exc:  # meshio raises many kinds: every one means this file is not readable as its suffix
        raise MeshFileError(f"{path}: not a readable {path.suffix} file: {exc}") from None
    blocks = [(block.type, np.asarray(block.data, dtype=np.int64)) for block in mesh.cells]
    return Mesh(_checked_points(mesh.points, path), blocks)


def read_points(path: str | os.PathLike[str], at: Where = "points") -> tuple[np.ndarray, Mesh | None]:
    """Volume points: an array file's points, or a mesh's points or cell centres (``at``), and the mesh."""
    path = _checked_path(path, VOLUME_FORMATS, "volume")
    suffix = path.suffix.lower()
    if suffix not in ARRAY_FORMATS:
        mesh = read_mesh(path, VOLUME_FORMATS)
        if at == "points":
            return mesh.points, mesh
        if not mesh.cells:
            raise MeshFileError(f"{path}: --volume-at cells needs cells, and the mesh has none")
        return _checked_points(mesh.cell_centres(), path), mesh
    try:
        if suffix == ".pt":
            import torch

            array = torch.load(path, map_location="cpu", weights_only=True)
            array = array.numpy() if isinstance(array, torch.Tensor) else array
        else:
            loaded = np.load(path, allow_pickle=False)
            if suffix == ".npz":
                if len(loaded.files) != 1:
                    raise MeshFileError(f"{path}: expected one array of points, found {sorted(loaded.files)}")
                loaded = loaded[loaded.files[0]]
            array = loaded
    except MeshFileError:
        raise
    except Exception as exc:
        raise MeshFileError(f"{path}: not a readable {suffix} file of points: {exc}") from None
    if not isinstance(array, np.ndarray):
        raise MeshFileError(f"{path}: expected an array of points, got a {type(array).__name__}")
    return _checked_points(array, path), None


def write_vtu(
    path: str | os.PathLike[str],
    mesh: Mesh,
    point_data: dict[str, np.ndarray] | None = None,
    cell_data: dict[str, np.ndarray] | None = None,
) -> Path:
    """A VTU file (ParaView opens it) of ``mesh`` with named fields on its points or its cells."""
    meshio = _meshio()
    cells = mesh.cells or [("vertex", np.arange(len(mesh.points))[:, None])]
    split = {}
    if cell_data:  # meshio keeps cell data per block
        bounds = np.cumsum([0, *(len(c) for _, c in cells)])
        split = {k: [v[a:b] for a, b in itertools.pairwise(bounds)] for k, v in cell_data.items()}
    out = meshio.Mesh(mesh.points, cells, point_data=point_data or {}, cell_data=split)
    path = Path(path)
    out.write(path, file_format="vtu")
    return path
