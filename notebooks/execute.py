"""Execute the demo notebooks in place, so that they are committed with their outputs: a reader on the web sees
the scores, the predictions and the plots without running anything.

Each notebook runs top to bottom in a fresh kernel of this interpreter, with notebooks/ as its working directory
(as in Jupyter), trains its demo model on generated toy data and keeps what it printed and displayed. Outputs that
only say when or where it ran are left out of the file (execution timings, kernel ids), so a re-execution changes
only what the model learnt. tests/test_notebooks.py executes them again and checks that the committed scores are
still what they produce.

    python notebooks/execute.py                 # every notebook (a few minutes on 2 CPU cores)
    python notebooks/execute.py sentiment.ipynb # one
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

import nbclient
import nbformat

from rnnapps import quiet_stderr

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parent
TIMEOUT_S = 900


def execute(path: pathlib.Path) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path` in a fresh kernel and return it with its outputs."""
    nb = nbformat.read(path, as_version=4)
    environment = os.environ.pop("RNNAPPS_RUN_DIR", None)  # a committed notebook trains its own demo model
    try:
        nbclient.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
    finally:
        if environment is not None:
            os.environ["RNNAPPS_RUN_DIR"] = environment
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = [output for output in map(_without_harmless_lines, cell.outputs) if output is not None]
    nb.metadata.pop("widgets", None)
    return nb


def _without_harmless_lines(output):
    """A cell output without TensorFlow's harmless C++ start-up notices (the kernel's stderr shows them; the CLI
    drops the same lines, `rnnapps.quiet_stderr.HARMLESS`); None when nothing else is left of it."""
    if output.get("output_type") != "stream":
        return output
    kept = [line for line in output.text.splitlines(keepends=True)
            if not quiet_stderr.HARMLESS.match(line.rstrip("\n").encode())]
    if not "".join(kept).strip():
        return None
    output.text = "".join(kept)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook file names (default: every notebook here)")
    args = parser.parse_args()
    paths = [NOTEBOOKS_DIR / name for name in args.names] or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        nbformat.write(execute(path), path)
        print(f"{path.name}: executed in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
