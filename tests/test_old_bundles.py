"""Bundles written before the tasks moved into packages (rnnapps 0.1.0) still load and predict the same:
old recipe section names, old serialized model names, old tokenizer folders."""

import base64
import json
import pathlib
import shutil

import pytest

from rnnapps import registry

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "bundles-0.1.0"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def _same(found, expected, path="result"):
    """Exact for strings and ints, 1e-4 for floats (kernels may differ in the last bits)."""
    if isinstance(expected, dict):
        assert set(found) >= set(expected), path
        for key, value in expected.items():
            _same(found[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(found) == len(expected), path
        for index, (a, b) in enumerate(zip(found, expected)):
            _same(a, b, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert found == pytest.approx(expected, abs=1e-4), path
    else:
        assert found == expected, path


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_an_old_bundle_loads_and_predicts_the_same(task, tmp_path):
    bundle = shutil.copytree(FIXTURES / task, tmp_path / task)
    pipeline = registry.get(task).pipeline_class().from_bundle(bundle)
    case = EXPECTED[task]
    inputs = case.get("inputs") or [base64.b64decode(text) for text in case["inputs_png_b64"]]
    _same(pipeline.predict(inputs, **case.get("options", {})), case["results"])
