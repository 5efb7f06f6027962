"""The models a server serves: where each SavedModel comes from, its signatures, and TF Serving's status
and metadata answers for it.

A `--model NAME=PATH` is one of
  - a SavedModel directory (it holds saved_model.pb), served as version 1;
  - a TF Serving model base path (numbered version folders, each a SavedModel), served at its highest version;
  - an rnnapps bundle or run directory, exported once into the cache folder (re-exported when the bundle
    changes) and served as version 1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pathlib

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

from rnnapps import bundle, export, registry, serving_examples
from rnnapps.errors import UserError
from rnnapps.server.stopping import Stopper

log = logging.getLogger(__name__)

DEFAULT_SIGNATURE = "serving_default"


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One named input or output of a signature.

    Attributes:
        name: the name clients use ("text", "history", ...).
        dtype: its tf.DType.
        shape: its dimensions, None where any size is accepted (the batch dimension first, when batched).
    """

    name: str
    dtype: tf.DType
    shape: tuple[int | None, ...]

    @property
    def batched(self) -> bool:
        """Whether the first dimension is the batch (rows of a row-format request)."""
        return len(self.shape) > 0 and self.shape[0] is None


@dataclasses.dataclass
class Signature:
    """A callable signature of a served model.

    Attributes:
        name: the signature name ("serving_default", "translate_greedy", ...).
        inputs / outputs: name -> TensorInfo.
        function: the concrete function; called with numpy arrays by name, returns name -> tf.Tensor.
    """

    name: str
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]
    function: object

    def __call__(self, arrays: dict[str, np.ndarray], stopper: Stopper | None = None) -> dict[str, np.ndarray]:
        """Run the signature on numpy inputs (name -> array of the input's dtype) -> name -> numpy array.

        Raises:
            Stopped: `stopper` was stopped before the call ended.
        """
        tensors = {name: tf.constant(array, dtype=self.inputs[name].dtype) for name, array in arrays.items()}
        outputs = (stopper or Stopper()).run(self.function, **tensors)
        return {name: value.numpy() for name, value in outputs.items()}


class ServedModel:
    """A loaded SavedModel under a name and version, with its signatures.

    Args:
        name: the model name in the URL (/v1/models/NAME).
        path: the SavedModel directory.
        version: the version number reported and accepted in /versions/N.
    """

    def __init__(self, name: str, path: pathlib.Path, version: int = 1):
        self.name, self.path, self.version = name, path, version
        self._loaded = tf.saved_model.load(str(path))
        self.card = serving_examples.read_card(path)  # the task and example inputs, for the try-it page
        self._signature_defs = _signature_defs(path)
        self.signatures = {key: _signature(key, function) for key, function in self._loaded.signatures.items()
                           if key in self._signature_defs}
        if not self.signatures:
            raise UserError(f"{path} has no serving signature; export it with 'rnnapps TASK export'")

    @property
    def default_signature(self) -> str:
        """The signature a request without signature_name uses."""
        return DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in self.signatures else sorted(self.signatures)[0]

    def status(self) -> dict:
        """TF Serving's GetModelStatusResponse as JSON."""
        return {"model_version_status": [{"version": str(self.version), "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self) -> dict:
        """TF Serving's GetModelMetadataResponse as JSON: the signature_def map, as protobuf's JSON mapping
        writes it with default fields printed, as TF Serving does (field names as in the proto, sizes as
        strings, "unknown_rank": false)."""
        signature_defs = {key: _message_json(value) for key, value in self._signature_defs.items()}
        return {"model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
                "metadata": {"signature_def": {"signature_def": signature_defs}}}


def parse_model_flag(flag: str) -> tuple[str, pathlib.Path]:
    """'NAME=PATH' -> (name, path); UserError naming the expected form otherwise."""
    name, separator, path = flag.partition("=")
    if not separator or not name or not path:
        raise UserError(f"--model {flag!r}: expected NAME=PATH, e.g. --model sentiment=runs/sentiment")
    if not all(char.isalnum() or char in "-_." for char in name):
        raise UserError(f"--model {flag!r}: a model name may hold letters, digits, '-', '_' and '.' only")
    return name, pathlib.Path(path)


def locate(path: pathlib.Path, cache_dir: pathlib.Path) -> tuple[pathlib.Path, int]:
    """The SavedModel directory and version to serve for PATH (see the module docstring).

    Raises:
        UserError: PATH does not exist or is neither a SavedModel, a model base path nor a bundle.
    """
    if not path.exists():
        raise UserError(f"{path} does not exist; give a SavedModel ('rnnapps TASK export') or a bundle")
    if (path / export.SAVED_MODEL_FILE).is_file():
        return path, 1
    versions = sorted(int(child.name) for child in path.iterdir()
                      if child.name.isdigit() and (child / export.SAVED_MODEL_FILE).is_file()) if path.is_dir() else []
    if versions:
        return path / str(versions[-1]), versions[-1]
    try:
        bundle_dir = bundle.resolve(path)
    except UserError:
        raise UserError(f"{path} is neither a SavedModel (no {export.SAVED_MODEL_FILE}), a folder of numbered "
                        "SavedModel versions nor an rnnapps bundle") from None
    return _export_bundle(bundle_dir, cache_dir), 1


def _export_bundle(bundle_dir: pathlib.Path, cache_dir: pathlib.Path) -> pathlib.Path:
    """Export a bundle into the cache (once per bundle content) and return the SavedModel directory."""
    metadata_file = bundle_dir / bundle.METADATA_FILE
    stamp = f"{bundle_dir.resolve()}:{(bundle_dir / bundle.MODEL_FILE).stat().st_mtime_ns}:{metadata_file.read_text()}"
    target = cache_dir / hashlib.sha256(stamp.encode()).hexdigest()[:16]
    if (target / export.SAVED_MODEL_FILE).is_file():
        log.info("serving %s from its cached export %s", bundle_dir, target)
        return target
    task_name = json.loads(metadata_file.read_text(encoding="utf-8")).get("task", "")
    log.info("exporting %s (%s) to %s", bundle_dir, task_name, target)
    pipeline = registry.get(task_name).pipeline_class().from_bundle(bundle_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    return pipeline.export(target)


def _signature_defs(path: pathlib.Path) -> dict:
    """The SignatureDef protos of a SavedModel, read from its saved_model.pb (not the internal '__' ones)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / export.SAVED_MODEL_FILE).read_bytes())
    return {key: value for key, value in proto.meta_graphs[0].signature_def.items() if not key.startswith("__")}


def _message_json(message) -> dict:
    try:
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)
    except TypeError:  # protobuf < 5 names the option differently
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         including_default_value_fields=True)


def _signature(name: str, function) -> Signature:
    _, input_specs = function.structured_input_signature
    inputs = {key: TensorInfo(key, spec.dtype, tuple(spec.shape.as_list())) for key, spec in input_specs.items()}
    outputs = {key: TensorInfo(key, spec.dtype, tuple(spec.shape.as_list()) if spec.shape.rank is not None else ())
               for key, spec in function.structured_outputs.items()}
    return Signature(name, inputs, outputs, function)
