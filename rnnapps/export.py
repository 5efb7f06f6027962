"""SavedModel export: write a task's serving module atomically and check what was written.

The serving modules live with their tasks (`rnnapps.pipelines.<task>.serving`): each holds its
preprocessor and Keras model and does preprocessing, the forward pass and postprocessing in one graph,
so `tf.saved_model.load(path)` (or TF Serving) needs no rnnapps code.
"""

from __future__ import annotations

import pathlib

import tensorflow as tf

from rnnapps import atomic

SAVED_MODEL_FILE = "saved_model.pb"


def save(module: tf.Module, path: str | pathlib.Path, signatures: dict,
         extra_files: dict[str, str] | None = None) -> pathlib.Path:
    """Write a SavedModel atomically (temporary directory, then rename) and check its signatures.

    Args:
        module: the serving module (tracks the tokenizer tables and model variables).
        path: target directory (replaced if it exists).
        signatures: signature name -> tf.function with an input signature, e.g.
            {"serving_default": module.classify}.
        extra_files: relative path -> text, written into the SavedModel directory too (e.g. its
            `assets.extra/` files, which TensorFlow and TF Serving leave alone).

    Returns:
        The SavedModel directory.

    Raises:
        RuntimeError: the written SavedModel lacks a signature or one of its inputs (nothing is replaced).
    """
    expected = {name: _input_names(function) for name, function in signatures.items()}

    def write(tmp: pathlib.Path) -> None:
        tf.saved_model.save(module, str(tmp), signatures=signatures)
        for relative, text in (extra_files or {}).items():
            (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp / relative).write_text(text, encoding="utf-8")
        check(tmp, expected)

    return atomic.write_directory(path, write)


def signature_inputs(path: str | pathlib.Path) -> dict[str, list[str]]:
    """The signatures of a SavedModel on disk and their input names, read from its saved_model.pb (cheap:
    no graph is loaded).

    Returns:
        {signature name: sorted input names}.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((pathlib.Path(path) / SAVED_MODEL_FILE).read_bytes())
    graph = proto.meta_graphs[0]
    return {name: sorted(signature.inputs) for name, signature in graph.signature_def.items()
            if not name.startswith("__")}


def check(path: str | pathlib.Path, expected: dict[str, list[str]]) -> None:
    """Raise RuntimeError unless the SavedModel at `path` has every expected signature with its inputs."""
    found = signature_inputs(path)
    for name, inputs in expected.items():
        if name not in found:
            raise RuntimeError(f"the SavedModel written to {path} has no signature {name!r} (it has {sorted(found)})")
        if found[name] != sorted(inputs):
            raise RuntimeError(f"the SavedModel written to {path}: signature {name!r} takes {found[name]}, "
                               f"expected {sorted(inputs)}")


def _input_names(function) -> list[str]:
    """Input names of a tf.function with an input signature (or of a concrete function)."""
    specs = function.input_signature if hasattr(function, "input_signature") else None
    if specs is None:
        specs = function.structured_input_signature[0]
    return sorted(spec.name for spec in tf.nest.flatten(specs))
