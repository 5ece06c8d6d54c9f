"""``noether-attention predict``: a checkpoint on mesh files of every supported format, fields written as VTU
that equal the model's ``forward`` on the same drawn anchors; bad files give one clear error each."""

import numpy as np
import pytest
import torch
from test_ab_upt import config

from noether.cli import _parser, main
from noether.cli.predict import fields_of, model_inputs, read_inputs
from noether.modeling.models import AnchoredBranchedUPT

meshio = pytest.importorskip("meshio", reason="needs the mesh extra: pip install 'noether-attention[mesh]'")
vtk_io = pytest.importorskip("vtkmodules.vtkIOXML", reason="needs the mesh extra (vtk)")

NORMALIZERS = """
positions: {raw_pos_min: [-1.0, -1.5, -0.5], raw_pos_max: [5.0, 1.5, 2.5], scale: 1.0}
fields:
  surface_pressure: {mean: [-100.0], std: [50.0], unit: Pa}
  surface_wallshearstress: {mean: [0.5, 0.0, 0.0], std: [2.0, 1.0, 1.0], unit: Pa}
  volume_velocity: {mean: [30.0, 0.0, 0.0], std: [10.0, 5.0, 5.0], unit: m/s}
  volume_pressure: {mean: [5.0], std: [20.0], logscale: true}
conditions:
  velocity: {mean: [30.0], std: [10.0]}
"""


def car(n_u: int = 18, n_v: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """A closed ellipsoid body, 4 x 1.6 x 1.2: points and triangles."""
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, n_u, endpoint=False), np.linspace(0.2, np.pi - 0.2, n_v))
    ring = np.stack([2 + 2 * np.cos(u) * np.sin(v), 0.8 * np.sin(u) * np.sin(v), 0.8 + 0.6 * np.cos(v)], -1)
    points = np.concatenate([ring.reshape(-1, 3), [[2, 0, 1.4], [2, 0, 0.2]]])
    tris = []
    for j in range(n_v - 1):
        for i in range(n_u):
            a, b, c, d = j * n_u + i, j * n_u + (i + 1) % n_u, (j + 1) * n_u + i, (j + 1) * n_u + (i + 1) % n_u
            tris += [(a, b, c), (b, d, c)]
    top, bottom = n_u * n_v, n_u * n_v + 1
    tris += [(top, (i + 1) % n_u, i) for i in range(n_u)]
    tris += [(bottom, (n_v - 1) * n_u + i, (n_v - 1) * n_u + (i + 1) % n_u) for i in range(n_u)]
    return points, np.asarray(tris)


def volume_grid(n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Points on a grid around the car and hexahedra between them."""
    axes = [np.linspace(-0.5, 4.5, n), np.linspace(-1.2, 1.2, n), np.linspace(0.0, 2.0, n)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    index = np.arange(n**3).reshape(n, n, n)
    cells = [[index[i, j, k], index[i + 1, j, k], index[i + 1, j + 1, k], index[i, j + 1, k],
              index[i, j, k + 1], index[i + 1, j, k + 1], index[i + 1, j + 1, k + 1], index[i, j + 1, k + 1]]
             for i in range(n - 1) for j in range(n - 1) for k in range(n - 1)]  # fmt: skip
    return points, np.asarray(cells)


def write_surface(path, points, triangles):
    if path.suffix == ".vtp":
        from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

        poly, vtk_points, polys = vtkPolyData(), vtkPoints(), vtkCellArray()
        vtk_points.SetData(numpy_to_vtk(points))
        offsets = numpy_to_vtkIdTypeArray(np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64), deep=True)
        polys.SetData(offsets, numpy_to_vtkIdTypeArray(triangles.reshape(-1).astype(np.int64), deep=True))
        poly.SetPoints(vtk_points)
        poly.SetPolys(polys)
        writer = vtk_io.vtkXMLPolyDataWriter()
        writer.SetFileName(str(path))
        writer.SetInputData(poly)
        writer.Write()
    else:
        meshio.write(path, meshio.Mesh(points, [("triangle", triangles)]))
    return path


def write_volume(path, points, cells):
    if path.suffix == ".npy":
        np.save(path, points)
    elif path.suffix == ".npz":
        np.savez(path, points=points)
    elif path.suffix == ".pt":
        torch.save(torch.as_tensor(points), path)
    else:
        meshio.write(path, meshio.Mesh(points, [("hexahedron", cells)]))
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = AnchoredBranchedUPT(config(conditioning={"velocity": 1})).eval()
    return model.save_checkpoint(tmp_path_factory.mktemp("ckpt") / "ab_upt_cp=latest_model.th")


def command(checkpoint, geometry, output, *extra):
    return ["predict", str(checkpoint), "--geometry", str(geometry), "--output", str(output), "--no-progress",
            "--geometry-points", "150", "--supernodes", "20", "--anchors", "24", "--chunk-size", "37",
            "--condition", "velocity=38.0", *map(str, extra)]  # fmt: skip


def expected_fields(argv):
    """The fields ``forward`` gives on the anchors and points ``predict`` draws: one pass, no streaming."""
    args = _parser().parse_args(argv)
    inputs = read_inputs(args)
    model = AnchoredBranchedUPT.from_checkpoint(args.checkpoint)
    given, _ = model_inputs(model, inputs, args, torch)
    with torch.no_grad():
        out = model(**given)
    return {b: fields_of(out, b, inputs.normalizers) for b in ("surface", "volume")}, inputs


SURFACES = [".stl", ".obj", ".ply", ".vtp", ".vtk", ".vtu"]
VOLUMES = [(".vtu", "points"), (".vtu", "cells"), (".vtk", "points"), (".npy", "points"), (".npz", "points"),
           (".pt", "points")]  # fmt: skip


@pytest.mark.parametrize(("surface", "volume"), list(zip(SURFACES, VOLUMES, strict=True)), ids=lambda v: str(v))
def test_every_format_predicts_what_forward_gives(tmp_path, checkpoint, capsys, surface, volume):
    points, triangles = car()
    geometry = write_surface(tmp_path / f"car{surface}", points, triangles)
    suffix, at = volume
    grid, cells = volume_grid()
    volume_file = write_volume(tmp_path / f"volume{suffix}", grid, cells)
    normalizers = tmp_path / "normalizers.yaml"
    normalizers.write_text(NORMALIZERS)
    out = tmp_path / "out"
    argv = command(checkpoint, geometry, out, "--volume", volume_file, "--volume-at", at, "--normalizers", normalizers)
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"de-normalised by {normalizers}" in printed
    expected, inputs = expected_fields(argv)
    surface_out = meshio.read(out / "surface.vtu")
    np.testing.assert_allclose(surface_out.points, inputs.surface.points, rtol=1e-6)  # STL's points are merged anew
    assert len(surface_out.points) == len(points)
    assert len(surface_out.cells[0].data) == len(triangles)
    np.testing.assert_allclose(surface_out.point_data["pressure"], expected["surface"]["pressure"][:, 0],
                               rtol=1e-4, atol=1e-3)  # fmt: skip
    np.testing.assert_allclose(surface_out.point_data["wallshearstress"], expected["surface"]["wallshearstress"],
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    volume_out = meshio.read(out / "volume.vtu")
    data = volume_out.cell_data if at == "cells" else volume_out.point_data
    velocity = np.concatenate(data["velocity"]) if at == "cells" else data["velocity"]
    assert len(velocity) == (len(cells) if at == "cells" else len(grid))
    np.testing.assert_allclose(velocity, expected["volume"]["velocity"], rtol=1e-4, atol=1e-3)
    arrays = np.load(out / "predictions.npz")
    assert sorted(arrays.files) == ["surface_points", "surface_pressure", "surface_wallshearstress",
                                    "volume_points", "volume_pressure", "volume_velocity"]  # fmt: skip
    assert abs(float(np.mean(arrays["surface_pressure"])) + 100) < 200  # de-normalised: around the mean, in Pa


def test_without_normalizers_the_raw_outputs_are_written_and_said(tmp_path, checkpoint, capsys):
    points, triangles = car()
    geometry = write_surface(tmp_path / "car.stl", points, triangles)
    assert main(command(checkpoint, geometry, tmp_path / "out")) == 0
    printed = capsys.readouterr().out
    assert "the model's raw (normalised) outputs: no --normalizers given" in printed
    assert "no --volume: 24 volume anchors drawn uniformly around the geometry" in printed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["predictions.npz", "surface.vtu"]


def test_plot_shows_the_surface_fields(tmp_path, checkpoint):
    pytest.importorskip("matplotlib")
    points, triangles = car()
    geometry = write_surface(tmp_path / "car.vtp", points, triangles)
    normalizers = tmp_path / "normalizers.yaml"
    normalizers.write_text(NORMALIZERS)
    assert main([*command(checkpoint, geometry, tmp_path / "out", "--normalizers", normalizers), "--plot"]) == 0
    png = (tmp_path / "out" / "surface.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 20_000  # two rows of three coloured views, not an empty canvas


def test_bfloat16_stays_close_to_float32(tmp_path, checkpoint):
    points, triangles = car()
    geometry = write_surface(tmp_path / "car.ply", points, triangles)
    results = {}
    for dtype in ("float32", "bfloat16"):
        assert main([*command(checkpoint, geometry, tmp_path / dtype), "--dtype", dtype]) == 0
        results[dtype] = np.load(tmp_path / dtype / "predictions.npz")["surface_pressure"]
    scale = np.abs(results["float32"]).max()
    assert np.abs(results["bfloat16"] - results["float32"]).max() <= 0.05 * scale


def test_compiled_prediction_equals_eager_and_reports_the_compile(tmp_path, checkpoint, capsys):
    points, triangles = car()
    geometry = write_surface(tmp_path / "car.stl", points, triangles)
    results = {}
    for mode, extra in (("eager", []), ("compiled", ["--compile", "eager"])):  # the eager backend: dynamo's graphs
        assert main([*command(checkpoint, geometry, tmp_path / mode), *extra]) == 0
        results[mode] = np.load(tmp_path / mode / "predictions.npz")
        printed = capsys.readouterr().out
        assert ("of it: torch.compile, once per chunk shape" in printed) is (mode == "compiled")
    for name in results["eager"]:
        np.testing.assert_allclose(results["compiled"][name], results["eager"][name], atol=1e-5, rtol=1e-5)


def test_bad_files_give_one_clear_error_each(tmp_path, checkpoint, capsys):
    points, triangles = car()
    good = write_surface(tmp_path / "car.stl", points, triangles)
    (tmp_path / "car.xyz").write_text("1 2 3\n")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    np.save(tmp_path / "flat.npy", np.zeros((10, 2)))
    holes = np.ones((10, 3))
    holes[4, 1] = np.nan
    np.save(tmp_path / "nan.npy", holes)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("fields:\n  surface_pressure: {mean: [1.0, 2.0], std: [1.0, 1.0]}\n")
    typo = tmp_path / "typo.yaml"
    typo.write_text("fields:\n  surface_presure: {mean: [1.0], std: [1.0]}\n")
    cases = [
        (["--geometry", tmp_path / "car.xyz"], "car.xyz: mesh files are .stl, .obj, .ply, .vtp, .vtk, .vtu, not .xyz"),
        (["--volume", tmp_path / "empty.npy"], "empty.npy: expected points of shape (n, 3), got no points"),
        (["--volume", tmp_path / "flat.npy"], "flat.npy: points need 3 coordinates (x, y, z), got 2 per point"),
        (["--volume", tmp_path / "nan.npy"], "nan.npy: 1 points have NaN or infinite coordinates (the first is 4)"),
        (["--normalizers", wrong], "the normaliser of 'surface_pressure' has 2 values; the model predicts 1 channel"),
        (["--normalizers", typo], "normalisers for fields the model does not predict: ['surface_presure']"),
        (["--condition", "yaw=3"], "--condition: the model is conditioned on velocity (1 value); missing velocity"),
    ]  # fmt: skip
    for extra, message in cases:
        argv = command(checkpoint, good, tmp_path / "out", *extra)
        if extra[0] == "--geometry":
            argv[argv.index("--geometry") + 1] = str(extra[1])
            argv = argv[:-2]
        if extra[0] == "--condition":
            argv = [a for a in argv if a != "velocity=38.0"]
            argv.remove("--condition")
        assert main(argv) == 1, extra
        err = capsys.readouterr().err.strip()
        assert err.startswith("noether-attention predict: error: "), err
        assert message in err, (message, err)
        assert "\n" not in err  # one line, no traceback


def test_run_says_whether_the_weights_are_trained(tmp_path, checkpoint, capsys):
    import yaml

    from noether.modeling.checkpoint import read_checkpoint

    document = {"model": "ab_upt", **read_checkpoint(checkpoint).model_config,
                "points": {"geometry": 64, "supernodes": 8, "surface_anchors": 8, "volume_anchors": 8,
                           "surface_queries": 16, "volume_queries": 16},
                "run": {"chunk_size": 8}}  # fmt: skip
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["run", str(path), "--no-progress"]) == 0
    assert "random, seeded (no --checkpoint): a try-out of the package, not a prediction" in capsys.readouterr().out
    assert main(["run", str(path), "--no-progress", "--checkpoint", str(checkpoint)]) == 0
    assert f"from {checkpoint}" in capsys.readouterr().out


def test_normalisers_compute_as_1x():
    from noether.io.normalizers import MeanStdNormalizerConfig, PositionNormalizerConfig

    box = {"raw_pos_min": [0.0, -1.0, 0.0], "raw_pos_max": [4.0, 1.0, 2.0]}
    np.testing.assert_allclose(PositionNormalizerConfig(**box).normalize(np.array([[2.0, 0.0, 1.0]])), [[500.0] * 3])
    centred = PositionNormalizerConfig(**box, scale=10.0, zero_center=True)
    np.testing.assert_allclose(centred.normalize(np.array([[4.0, -1.0, 1.0]])), [[10.0, -10.0, 0.0]])
    assert centred.outside(np.array([[10.0, 0.0, 0.0], [10.1, 0.0, 0.0]])) == 1
    plain = MeanStdNormalizerConfig(mean=[1.0, -1.0], std=[2.0, 0.5])
    np.testing.assert_allclose(plain.denormalize(np.array([[0.5, 2.0]])), [[2.0, 0.0]])
    log = MeanStdNormalizerConfig(mean=0.0, std=1.0, logscale=True)
    np.testing.assert_allclose(log.denormalize(np.array([[np.log(3.0)], [-np.log(5.0)]])), [[2.0], [-4.0]])
    values = np.array([[-7.0], [0.25], [130.0]])
    np.testing.assert_allclose(log.denormalize(log.normalize(values)), values)
    with pytest.raises(ValueError, match="raw_pos_max must exceed raw_pos_min on every axis"):
        PositionNormalizerConfig(raw_pos_min=[0.0, 1.0], raw_pos_max=[1.0, 1.0])
    with pytest.raises(ValueError, match="std must be positive"):
        MeanStdNormalizerConfig(mean=[0.0], std=[0.0])


@pytest.mark.slow
def test_predict_under_torchrun_equals_one_process(tmp_path, checkpoint):
    import os
    import subprocess
    import sys

    points, triangles = car()
    geometry = write_surface(tmp_path / "car.obj", points, triangles)
    grid, cells = volume_grid()
    volume = write_volume(tmp_path / "volume.npy", grid, cells)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cli = ["-m", "noether", *command(checkpoint, geometry, "{out}", "--volume", volume)]
    one = [a.replace("{out}", str(tmp_path / "one")) for a in cli]
    subprocess.run([sys.executable, *one], check=True, env=env, capture_output=True)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    two = subprocess.run([*torchrun, *(a.replace("{out}", str(tmp_path / "two")) for a in cli)], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert two.returncode == 0, two.stderr
    assert "processes           2 (torchrun): query points split across them" in two.stdout
    expected, got = np.load(tmp_path / "one" / "predictions.npz"), np.load(tmp_path / "two" / "predictions.npz")
    assert sorted(expected.files) == sorted(got.files)
    for name in expected.files:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-5, rtol=1e-4)
