"""TensorFlow Datasets sources, read into plain Python examples.

TFDS downloads on first use; with no network the error says how to prepare the data offline.
"""

from __future__ import annotations

from typing import Any

from rnnapps.errors import UserError

# TFDS split name -> the split it feeds.
SPLIT_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "dev": "validation",
               "test": "test"}


def load_splits(name: str, data_dir: str = "", skip_decoding: tuple[str, ...] = ()) -> tuple[dict[str, Any], Any]:
    """Load every split of TFDS dataset `name` as numpy-iterable datasets.

    Args:
        name: a TFDS name, optionally with config and version ("ted_hrlr_translate/pt_to_en").
        data_dir: TFDS data directory ("" = the TFDS default).
        skip_decoding: features read as their encoded bytes (e.g. ("image",): the JPEG, not its pixels).

    Returns:
        ({split name: iterable of feature dicts with numpy values}, tfds.core.DatasetInfo).
    """
    import tensorflow_datasets as tfds  # slow import; only TFDS sources need it

    try:
        decoders = {feature: tfds.decode.SkipDecoding() for feature in skip_decoding} or None
        datasets, info = tfds.load(name, data_dir=data_dir or None, with_info=True, decoders=decoders)
    except Exception as error:  # TFDS raises many types (DatasetNotFoundError, network errors, ...)
        raise UserError(
            f"cannot load TFDS dataset {name!r}: {str(error).splitlines()[0] if str(error) else type(error).__name__}. "
            "Check the name (tfds.list_builders()), or prepare it on a machine with a network and set "
            "data.tfds_data_dir, or point data.source at local files"
        ) from None
    return {split: tfds.as_numpy(dataset) for split, dataset in datasets.items()}, info


def decode_text(value: Any) -> str:
    """A TFDS text value (UTF-8 bytes, or anything else) as str; invalid bytes become U+FFFD."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
