"""Every demo notebook in notebooks/ runs top to bottom on generated toy data without a cell error, and is
committed executed (`python notebooks/execute.py`): its stored outputs show good scores, and executing it again
gives scores within a tolerance of the stored ones (not the same bytes: a retrained model differs in its last
digits).

The notebooks are executed in a Jupyter kernel running this interpreter (the current virtualenv), with
notebooks/ as the working directory, as a student opening them in Jupyter would. Each notebook reuses
the demo run its session fixture trained with the same recipe (RNNAPPS_RUN_DIR), so that the suite does not
train every demo model twice.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import re
import shutil
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
nbclient_exceptions = pytest.importorskip("nbclient.exceptions")
kernelspec = pytest.importorskip("jupyter_client.kernelspec")

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
TIMEOUT_S = 600

_PROBE = "import sys, rnnapps\nprint('PREFIX=' + sys.prefix)"


def _execute(nb):
    """Run every cell of `nb` in place in a fresh kernel whose working directory is notebooks/."""
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name=KERNEL_NAME,
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()
    return nb


def _stream_text(cell) -> str:
    """All text a code cell printed (stdout, stderr, plain-text results)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def _kernel_prefix() -> str | None:
    """sys.prefix of the kernel that `python3` starts, or None when it fails (e.g. rnnapps not importable)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_PROBE)])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL_NAME,
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    try:
        client.execute()
    except Exception:  # noqa: BLE001 - any failure means "not usable"; the caller installs our own kernel
        # nbclient leaves its atexit clean-up registered when the kernel fails to start; it would then
        # print a spurious AssertionError when pytest exits.
        atexit.unregister(client._cleanup_kernel)
        return None
    found = re.search(r"PREFIX=(.+)", _stream_text(nb.cells[0]))
    return found.group(1).strip() if found else None


def _same_environment(prefix: str | None) -> bool:
    return prefix is not None and os.path.realpath(prefix) == os.path.realpath(sys.prefix)


@pytest.fixture(scope="module")
def python3_kernel(tmp_path_factory):
    """Make sure the `python3` kernel runs this interpreter; install one in a temporary prefix if not."""
    with pytest.MonkeyPatch.context() as patch:
        if KERNEL_NAME in kernelspec.find_kernel_specs() and _same_environment(_kernel_prefix()):
            yield
            return
        ipykernel_spec = pytest.importorskip("ipykernel.kernelspec")
        prefix = tmp_path_factory.mktemp("jupyter")
        # Writes a kernel.json whose argv starts with sys.executable.
        ipykernel_spec.install(kernel_name=KERNEL_NAME, prefix=str(prefix))
        kernels_root = prefix / "share" / "jupyter"
        patch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(kernels_root),
                                                                  os.environ.get("JUPYTER_PATH")])))
        prefix_seen = _kernel_prefix()
        assert _same_environment(prefix_seen), (
            f"the {KERNEL_NAME!r} kernel installed for {sys.executable} runs in {prefix_seen!r}, "
            f"expected {sys.prefix!r} with rnnapps importable")
        yield


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_executed_with_its_results(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    counts = [cell.execution_count for cell in nb.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: run 'python notebooks/execute.py {path.name}'"
    assert not [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
                if o.get("output_type") == "error"], f"{path.name} is stored with an error"
    printed = _printed(nb)
    NOTEBOOK_CHECKS[path.name](nb, printed)  # the stored outputs show what a reader should see
    assert set(_scores(path.name, printed)) == set(SCORES[path.name])


def _printed(nb) -> str:
    """Everything the notebook's code cells printed."""
    return "\n".join(_stream_text(cell) for cell in nb.cells if cell.cell_type == "code")


def _images(nb) -> list:
    """The PNG images the notebook displayed."""
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
            if "image/png" in output.get("data", {})]


def _printed_number(printed: str, label: str) -> float:
    """X of a printed line `label: X`."""
    found = re.search(rf"^{re.escape(label)}: ([0-9.]+)$", printed, re.MULTILINE)
    assert found, f"the notebook no longer prints '{label}: X'"
    return float(found.group(1))


def _check_sentiment(nb, printed: str) -> None:
    assert _printed_number(printed, "test accuracy") >= 0.9
    assert "reloaded predictions identical: True" in printed
    assert "SavedModel matches the pipeline: True" in printed
    assert len(_images(nb)) == 2  # the bundle plots were displayed as images


def _check_translate(nb, printed: str) -> None:
    assert _printed_number(printed, "test BLEU") >= 60
    assert "reloaded translations identical: True" in printed
    assert "SavedModel matches the pipeline: True" in printed
    assert len(_images(nb)) >= 2  # training curves and attention heatmap


def _check_generate(nb, printed: str) -> None:
    # A uniform guess over the ~50 characters costs log2(50) = 5.6 bits; the toy play is very repetitive.
    assert _printed_number(printed, "validation bits per character") < 1.2
    assert "same seed, same text: True" in printed
    assert "SavedModel matches the pipeline: True" in printed
    assert len(_images(nb)) == 1  # the bundle's training curves were displayed as an image


def _check_caption(nb, printed: str) -> None:
    assert _printed_number(printed, "test BLEU-4") >= 0.8
    assert "reloaded captions identical: True" in printed
    assert "SavedModel matches the pipeline: True" in printed
    assert len(_images(nb)) == 3  # the scenes, the training curves and the attention maps


def _check_forecast(nb, printed: str) -> None:
    scores = _scores("forecast.ipynb", printed)
    assert scores["MSE"] < 0.2  # scaled units: the series' own variance is 1
    assert "SavedModel matches the pipeline: True" in printed
    assert _images(nb)  # the forecast against what happened


def _check_anomaly(nb, printed: str) -> None:
    assert _printed_number(printed, "NAB standard") >= 30  # the null detector scores 0, a perfect one 100
    assert "scores before the planted signal unchanged: True" in printed
    assert "SavedModel matches the pipeline: True" in printed
    assert len(_images(nb)) == 1  # the scored series with its flags and windows


def _check_tunes(nb, printed: str) -> None:
    assert _printed_number(printed, "validation nats per token") < 1.5  # a uniform guess: ln(~70 tokens) = 4.2
    assert _printed_number(printed, "sampled tunes that parse") >= 0.8
    assert "SavedModel matches the pipeline: True" in printed
    audio = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
             if "text/html" in output.get("data", {}) and "<audio" in output["data"]["text/html"]]
    assert len(audio) == 1  # the tune's recording, playable where the notebook is read


def _check_speech(nb, printed: str) -> None:
    assert _printed_number(printed, "test CER") <= 0.05  # toy phones: near zero
    assert "SavedModel matches the pipeline: True" in printed
    assert len(_images(nb)) == 1  # the log-mel frames of a recording
    audio = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
             if "text/html" in output.get("data", {}) and "<audio" in output["data"]["text/html"]]
    assert len(audio) == 1  # a toy recording, playable where the notebook is read


# Facts that only one notebook prints: name -> check(executed notebook, everything it printed).
NOTEBOOK_CHECKS = {"sentiment.ipynb": _check_sentiment, "translate.ipynb": _check_translate,
                   "generate.ipynb": _check_generate, "caption.ipynb": _check_caption,
                   "forecast.ipynb": _check_forecast, "tunes.ipynb": _check_tunes, "anomaly.ipynb": _check_anomaly,
                   "speech.ipynb": _check_speech}
# The scores a notebook prints: name -> {score: (the line that prints it, how far a re-execution may land from
# the stored value)}. Generous: the toy models are tiny and small changes of the code move their last digits.
SCORES = {
    "sentiment.ipynb": {"test accuracy": (r"^test accuracy: ([0-9.]+)$", 0.05)},
    "translate.ipynb": {"test BLEU": (r"^test BLEU: ([0-9.]+)$", 10.0)},
    "generate.ipynb": {"validation bits per character": (r"^validation bits per character: ([0-9.]+)$", 0.15)},
    "caption.ipynb": {"test BLEU-4": (r"^test BLEU-4: ([0-9.]+)$", 0.1)},
    "forecast.ipynb": {"MSE": (r"^MSE ([0-9.]+) ", 0.03)},
    "tunes.ipynb": {"validation nats per token": (r"^validation nats per token: ([0-9.]+)$", 0.2)},
    "anomaly.ipynb": {"NAB standard": (r"^NAB standard: ([0-9.]+)$", 25.0)},
    "speech.ipynb": {"test CER": (r"^test CER: ([0-9.]+)$", 0.05)},
}


def _scores(name: str, printed: str) -> dict[str, float]:
    """The scores of SCORES[name] found in what a notebook printed."""
    found = {}
    for score, (pattern, _) in SCORES[name].items():
        match = re.search(pattern, printed, re.MULTILINE)
        if match:
            found[score] = float(match.group(1))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(path, id=path.name, marks=pytest.mark.xdist_group(f"{path.stem}_run"))
                                  for path in NOTEBOOKS])
def test_notebook_runs(path, python3_kernel, request, tmp_path, monkeypatch):
    # The session fixture `<task>_run` trained this notebook's recipe already (conftest.NOTEBOOK_OVERRIDES):
    # the notebook gets a copy through RNNAPPS_RUN_DIR and reuses the finished run, which its train() checks
    # is a run of the same recipe. Training itself is tested on the fixture.
    trained = request.getfixturevalue(f"{path.stem}_run")
    run_copy = tmp_path / "run"
    shutil.copytree(trained, run_copy)
    monkeypatch.setenv("RNNAPPS_RUN_DIR", str(run_copy))
    nb = nbformat.read(path, as_version=4)
    try:
        _execute(nb)
    except nbclient_exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name}: a cell failed:\n{error}", pytrace=False)
    printed = _printed(nb)
    NOTEBOOK_CHECKS[path.name](nb, printed)
    stored = _scores(path.name, _printed(nbformat.read(path, as_version=4)))
    for score, value in _scores(path.name, printed).items():
        tolerance = SCORES[path.name][score][1]
        assert abs(value - stored[score]) <= tolerance, (
            f"{path.name}: {score} {value} now, {stored[score]} in the stored outputs (tolerance {tolerance}); "
            f"if the change is meant, run 'python notebooks/execute.py {path.name}' and commit the notebook")
