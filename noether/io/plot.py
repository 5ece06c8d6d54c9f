"""A picture of predicted surface fields: the car seen from the side, the top and the front.

Triangles are projected orthographically and painted far to near, so the near side of the
car hides the far side without a 3-D renderer; a mesh without triangles (or with very many)
is drawn as points in the same order.
"""

from pathlib import Path
from typing import Any

import numpy as np

from noether import install_hint
from noether.io.mesh import Mesh

VIEWS = {"side": (0, 2, 1), "top": (0, 1, 2), "front": (1, 2, 0)}
"""View -> (horizontal axis, vertical axis, depth axis): the viewer looks along -depth."""
MAX_TRIANGLES = 400_000


def plot_surface(
    path: str | Path, mesh: Mesh, fields: dict[str, np.ndarray], units: dict[str, str | None] | None = None
) -> Path:
    """Save a PNG: one row per field (vectors as their magnitude), one column per view, a colour bar each."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.collections import PolyCollection
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"--plot needs matplotlib: {install_hint('plot')}", name="matplotlib") from None
    units = units or {}
    triangles = mesh.triangles()
    as_points = len(triangles) == 0 or len(triangles) > MAX_TRIANGLES
    fig, axes = plt.subplots(len(fields), len(VIEWS), figsize=(5 * len(VIEWS), 3.2 * len(fields)), squeeze=False)
    for row, (name, values) in zip(axes, fields.items(), strict=True):
        scalar = np.linalg.norm(values, axis=1) if values.ndim == 2 and values.shape[1] > 1 else values.reshape(-1)
        label = f"|{name}|" if values.ndim == 2 and values.shape[1] > 1 else name
        norm = matplotlib.colors.Normalize(*np.percentile(scalar, [1, 99]))
        artist: Any = None
        for ax, (view, (u, v, depth)) in zip(row, VIEWS.items(), strict=True):
            if as_points:
                order = np.argsort(mesh.points[:, depth])
                artist = ax.scatter(mesh.points[order, u], mesh.points[order, v], c=scalar[order], s=0.5,
                                    cmap="viridis", norm=norm, linewidths=0)  # fmt: skip
            else:
                order = np.argsort(mesh.points[triangles, depth].mean(axis=1))
                tris = triangles[order]
                artist = PolyCollection(mesh.points[tris][:, :, [u, v]], array=scalar[tris].mean(axis=1),
                                        cmap="viridis", norm=norm, edgecolors="face", linewidths=0.05)  # fmt: skip
                ax.add_collection(artist)
                ax.autoscale_view()
            ax.set_aspect("equal")
            ax.set_axis_off()
            ax.set_title(f"{label}, {view}")
        unit = units.get(name)
        fig.colorbar(artist, ax=list(row), shrink=0.8, label=f"{label} [{unit}]" if unit else f"{label} (model units)")
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
