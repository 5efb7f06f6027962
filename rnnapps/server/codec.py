"""TF Serving's JSON mapping for :predict: request bodies to numpy inputs, numpy outputs to answers.

Follows tensorflow_serving/g3doc/api/api_rest.md:
  - row format `{"instances": [...]}`: one item per example (the input's value, or an object of named
    values when the signature has several inputs), answered `{"predictions": [...]}` (values, or one object
    per example when there are several outputs);
  - columnar format `{"inputs": value | {name: value}}`, answered `{"outputs": value | {name: value}}`;
  - binary strings as `{"b64": "..."}` (standard Base64) in requests, and in answers for outputs whose name
    ends in `_bytes`; other strings are UTF-8 text; NaN and Infinity are accepted and written.
Every problem is a `BadRequest` whose message names the field and what was expected.
"""

from __future__ import annotations

import base64
import binascii
import math

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from rnnapps.server.models import Signature, TensorInfo


class BadRequest(ValueError):
    """A request the server cannot run: answered with HTTP 400 and this message."""


def read_request(body) -> tuple[str, object, bool]:
    """The parsed JSON body -> (signature name, instances or inputs, row format); checks the top-level fields."""
    if not isinstance(body, dict):
        raise BadRequest('the request body must be a JSON object with "instances" (row format) or "inputs" '
                         "(columnar format)")
    unknown = sorted(set(body) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, unknown))}: a predict request has "
                         '"signature_name" (optional) and one of "instances" or "inputs"')
    if ("instances" in body) == ("inputs" in body):
        raise BadRequest('a predict request needs exactly one of "instances" (row format) or "inputs" '
                         "(columnar format)" + (", not both" if "instances" in body else ""))
    signature_name = body.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise BadRequest('"signature_name" must be a string')
    row_format = "instances" in body
    return signature_name, body["instances" if row_format else "inputs"], row_format


def decode_inputs(signature: Signature, values, row_format: bool) -> dict[str, np.ndarray]:
    """The "instances" or "inputs" value -> input name -> numpy array, checked against the signature."""
    specs = signature.inputs
    if row_format:
        if not isinstance(values, list) or not values:
            raise BadRequest('"instances" must be a non-empty list, one item per example')
        scalars = [name for name, spec in specs.items() if not spec.batched]
        if scalars:
            raise BadRequest(f"signature {signature.name!r} has input(s) without a batch dimension "
                             f"({', '.join(scalars)}): send the request in the columnar format, "
                             '{"inputs": {...}}')
        if len(specs) == 1:
            (name,) = specs
            columns = {name: [_unwrap_single(item, name) for item in values]}
        else:
            columns = {name: [] for name in specs}
            for index, item in enumerate(values):
                if not isinstance(item, dict):
                    raise BadRequest(f"instances[{index}] must be an object with the inputs "
                                     f"{', '.join(sorted(specs))} (the signature has several inputs)")
                _check_names(item, specs, f"instances[{index}]")
                for name in specs:
                    columns[name].append(item[name])
    else:
        # As in TF Serving, an object (other than {"b64": ...}) names the inputs; anything else is the value
        # of a signature's only input.
        if len(specs) == 1 and not (isinstance(values, dict) and not _is_b64(values)):
            (name,) = specs
            columns = {name: values}
        else:
            if not isinstance(values, dict) or _is_b64(values):
                raise BadRequest(f'"inputs" must be an object with the inputs {", ".join(sorted(specs))}')
            _check_names(values, specs, '"inputs"')
            columns = values
    arrays = {name: to_array(columns[name], specs[name]) for name in specs}
    if row_format:
        return arrays
    sizes = {arrays[name].shape[0] for name, spec in specs.items() if spec.batched}
    if len(sizes) > 1:
        raise BadRequest(f"the batched inputs of signature {signature.name!r} have different first dimensions "
                         f"({', '.join(f'{n}: {arrays[n].shape[0]}' for n, s in specs.items() if s.batched)})")
    return arrays


def check_examples(arrays: dict[str, np.ndarray], signature: Signature, limit: int) -> None:
    """Refuse a request of more than `limit` examples (the first dimension of its batched inputs)."""
    rows = max((len(arrays[name]) for name, spec in signature.inputs.items() if spec.batched), default=0)
    if rows > limit:
        raise BadRequest(f"the request holds {rows:,} examples; this server takes at most {limit:,} per request "
                         "(--max-instances): split it into several requests")


def to_array(value, spec: TensorInfo) -> np.ndarray:
    """A JSON value (nested lists, strings, numbers, {"b64": ...}) -> numpy array for `spec`; checks dtype
    and shape."""
    if spec.dtype == tf.string:
        array = np.array(_strings(value, spec.name), dtype=object)
        if array.ndim and array.dtype == object and any(isinstance(item, list) for item in array.reshape(-1)):
            raise BadRequest(f"input {spec.name!r} is ragged: every row must have the same length")
    else:
        try:
            array = np.array(value)
        except ValueError:
            raise BadRequest(f"input {spec.name!r} is ragged: every row must have the same length") from None
        if array.dtype == object or array.dtype.kind in "US":
            raise BadRequest(f"input {spec.name!r} expects {_dtype_name(spec.dtype)} numbers, got "
                             f"{_kind_of(value)}")
        if spec.dtype == tf.bool:
            if array.size and array.dtype != np.bool_:
                raise BadRequest(f"input {spec.name!r} expects true/false values")
        elif array.dtype == np.bool_:
            raise BadRequest(f"input {spec.name!r} expects {_dtype_name(spec.dtype)} numbers, got true/false")
        elif spec.dtype.is_integer and array.size and array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise BadRequest(f"input {spec.name!r} expects whole numbers ({_dtype_name(spec.dtype)})")
        array = array.astype(spec.dtype.as_numpy_dtype)
    _check_shape(array, spec)
    return array


def encode_outputs(outputs: dict[str, np.ndarray], row_format: bool) -> dict:
    """Output name -> numpy array (batch first) -> {"predictions": ...} or {"outputs": ...}."""
    names = sorted(outputs)
    if not row_format:
        columns = {name: _to_json(outputs[name], name) for name in names}
        return {"outputs": columns[names[0]] if len(names) == 1 else columns}
    sizes = {name: outputs[name].shape[0] if outputs[name].ndim else None for name in names}
    if len(set(sizes.values())) != 1 or None in sizes.values():
        raise BadRequest("the outputs of this signature do not share a batch dimension; send the request in the "
                         'columnar format, {"inputs": ...}')
    if len(names) == 1:
        return {"predictions": _to_json(outputs[names[0]], names[0])}
    count = sizes[names[0]]
    rows = {name: _to_json(outputs[name], name) for name in names}
    return {"predictions": [{name: rows[name][index] for name in names} for index in range(count)]}


def _to_json(array: np.ndarray, name: str):
    binary = name.endswith("_bytes")
    if array.dtype == object or array.dtype.kind == "S":
        def convert(item):
            if isinstance(item, list):
                return [convert(inner) for inner in item]
            return ({"b64": base64.b64encode(item).decode("ascii")} if binary
                    else item.decode("utf-8", errors="replace"))
        return convert(array.tolist())
    if array.dtype.kind == "f":
        return _floats(array.tolist())
    return array.tolist()


def _floats(value):
    if isinstance(value, list):
        return [_floats(item) for item in value]
    # JSON numbers (NaN and Infinity are written as TF Serving does, the tokens Python's json reads).
    return float(value) if math.isfinite(value) else value


def _strings(value, name: str):
    if isinstance(value, list):
        return [_strings(item, name) for item in value]
    if isinstance(value, str):
        return value.encode("utf-8")
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f"input {name!r}: the \"b64\" value is not valid standard Base64") from None
    raise BadRequest(f"input {name!r} expects strings (or {{\"b64\": ...}} for binary data), got {_kind_of(value)}")


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _unwrap_single(item, name: str):
    """A row-format item of a single-input signature: the value, or an object holding just that input."""
    if isinstance(item, dict) and not _is_b64(item):
        if set(item) != {name}:
            raise BadRequest(f"an instance object must hold the input {name!r} only, got "
                             f"{', '.join(map(repr, sorted(item)))}")
        return item[name]
    return item


def _check_names(values: dict, specs: dict, where: str) -> None:
    missing, unknown = sorted(set(specs) - set(values)), sorted(set(values) - set(specs))
    if missing or unknown:
        parts = [f"missing {', '.join(map(repr, missing))}" if missing else "",
                 f"unknown {', '.join(map(repr, unknown))}" if unknown else ""]
        raise BadRequest(f"{where}: {'; '.join(part for part in parts if part)}; the signature's inputs are "
                         f"{', '.join(map(repr, sorted(specs)))}")


def _check_shape(array: np.ndarray, spec: TensorInfo) -> None:
    if array.ndim != len(spec.shape) or any(want is not None and want != got
                                            for want, got in zip(spec.shape, array.shape)):
        expected = "[" + ", ".join("-1" if size is None else str(size) for size in spec.shape) + "]"
        raise BadRequest(f"input {spec.name!r} has shape {list(array.shape)}, expected {expected} "
                         "(-1: any size; the first dimension is the batch)" if spec.batched else
                         f"input {spec.name!r} has shape {list(array.shape)}, expected {expected} (a single value)")


def _dtype_name(dtype: tf.DType) -> str:
    """TF Serving's name of a dtype: DT_FLOAT, DT_INT32, DT_STRING."""
    return types_pb2.DataType.Name(dtype.as_datatype_enum)


def _kind_of(value) -> str:
    while isinstance(value, list) and value:
        value = value[0]
    return {str: "a string", dict: "an object", bool: "true/false", type(None): "null"}.get(type(value), "a value")
