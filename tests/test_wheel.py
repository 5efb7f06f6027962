"""Installed as a package (the built wheel, not a checkout), rnnapps has its recipes and the serve page: the
demo runs from an unrelated directory, `--recipe` takes a built-in name, and `rnnapps recipes` lists them."""

import os
import pathlib
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytest.importorskip("setuptools", minversion="77")


def run(command, **kwargs):
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-4000:])
    return done


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_from_another_directory(tmp_path):
    wheels = tmp_path / "wheels"
    # No network: the build uses this environment's setuptools (a test dependency) instead of an isolated one.
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", wheels, ROOT])
    (wheel,) = wheels.glob("rnnapps-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("rnnapps/recipes/")}
    assert {f"rnnapps/recipes/{path.name}" for path in (ROOT / "rnnapps" / "recipes").glob("*.toml")} == shipped
    assert "rnnapps/server/page.html" in zipfile.ZipFile(wheel).namelist()  # rnnapps serve's try-it page

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel])
    # The wheel's own rnnapps, with this environment's TensorFlow and the other dependencies on PYTHONPATH (which
    # runs no .pth file, so the checkout's editable install stays out).
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "TF_CPP_MIN_LOG_LEVEL": "3"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run([python, "-c", "import rnnapps; print(rnnapps.__file__)"], cwd=elsewhere, env=env).stdout
    assert str(venv) in where, where
    listed = run([venv / "bin" / "rnnapps", "recipes"], cwd=elsewhere, env=env).stdout
    assert "sentiment-imdb" in listed and "forecast-ett" in listed and str(venv) in listed
    demo = run([venv / "bin" / "rnnapps", "-q", "demo", "--task", "sentiment", "--out", "runs"], cwd=elsewhere, env=env)
    assert "accuracy" in demo.stdout and (elsewhere / "runs" / "sentiment" / "saved_model" / "saved_model.pb").is_file()
    trained = run([venv / "bin" / "rnnapps", "-q", "forecast", "train", "--recipe", "forecast-demo", "--out", "fc",
                   "--set", "training.epochs=1"], cwd=elsewhere, env=env)
    assert "bundle written to fc/bundle" in trained.stdout
