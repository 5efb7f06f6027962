"""SavedModel export: atomic writes whose signatures are checked against what was asked for."""

import pytest
import tensorflow as tf

from rnnapps import export


class _Broken(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def fail(self, x):
        raise ValueError("cannot trace")


class _Doubler(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def double(self, x):
        return {"y": 2 * x}


def test_save_writes_the_signatures_and_their_inputs(tmp_path):
    module = _Doubler()
    path = export.save(module, tmp_path / "model", {"serving_default": module.double, "double": module.double})
    assert export.signature_inputs(path) == {"serving_default": ["x"], "double": ["x"]}
    loaded = tf.saved_model.load(str(path)).signatures["double"]
    assert loaded(x=tf.constant([1.5]))["y"].numpy().tolist() == [3.0]


def test_a_missing_signature_or_input_is_caught(tmp_path):
    module = _Doubler()
    path = export.save(module, tmp_path / "model", {"serving_default": module.double})
    with pytest.raises(RuntimeError, match="has no signature 'translate_greedy'"):
        export.check(path, {"translate_greedy": ["text"]})
    with pytest.raises(RuntimeError, match=r"signature 'serving_default' takes \['x'\], expected \['text'\]"):
        export.check(path, {"serving_default": ["text"]})


def test_a_failed_export_leaves_the_previous_saved_model(tmp_path):
    module = _Doubler()
    path = export.save(module, tmp_path / "model", {"serving_default": module.double})
    broken = _Broken()
    with pytest.raises(ValueError, match="cannot trace"):
        export.save(broken, path, {"serving_default": broken.fail})
    assert export.signature_inputs(path) == {"serving_default": ["x"]}
