"""TensorFlow Datasets sources, read into plain Python examples.

TFDS downloads on first use; with no network the error says how to prepare the data offline.
"""

from __future__ import annotations

from typing import Any

from rnnapps.errors import UserError

# TFDS split name -> the split it feeds.
SPLIT_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "dev": "validation",
               "test": "test"}


def load_splits(name: str, data_dir: str = "") -> tuple[dict[str, Any], Any]:
    """Load every split of TFDS dataset `name` as numpy-iterable datasets.

    Args:
        name: a TFDS name, optionally with config and version ("ted_hrlr_translate/pt_to_en").
        data_dir: TFDS data directory ("" = the TFDS default).

    Returns:
        ({split name: iterable of feature dicts with numpy values}, tfds.core.DatasetInfo).
    """
    import tensorflow_datasets as tfds  # slow import; only TFDS sources need it

    try:
        datasets, info = tfds.load(name, data_dir=data_dir or None, with_info=True)
    except Exception as error:  # TFDS raises many types (DatasetNotFoundError, network errors, ...)
        raise UserError(
            f"cannot load TFDS dataset {name!r}: {str(error).splitlines()[0] if str(error) else type(error).__name__}. "
            "Check the name (tfds.list_builders()), or prepare it on a machine with a network and set "
            "data.tfds_data_dir, or point data.source at local files"
        ) from None
    return {split: tfds.as_numpy(dataset) for split, dataset in datasets.items()}, info


def _decode(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def read_labelled_texts(name: str, text_key: str | int, label_key: str | int, data_dir: str = "") -> dict:
    """Read a TFDS text classification dataset into `LabelledTexts` per split.

    Class-label features are turned into their names (imdb_reviews: "neg", "pos"). Examples whose
    class id is negative are unlabelled (imdb_reviews "unsupervised", the GLUE test splits use -1)
    and are skipped; other splits than train, validation and test are not read.

    Returns:
        {"train": LabelledTexts, "test": ..., "validation": ...} for the labelled splits the dataset has.
    """
    from rnnapps.datasets.text_classification import LabelledTexts

    datasets, info = load_splits(name, data_dir)
    text_key, label_key = str(text_key), str(label_key)
    for key in (text_key, label_key):
        if key not in info.features:
            raise UserError(f"TFDS dataset {name!r} has no feature {key!r}; it has {sorted(info.features)}")
    names = getattr(info.features[label_key], "names", None)
    found = {}
    for split, dataset in datasets.items():
        if split not in SPLIT_NAMES:
            continue
        examples = LabelledTexts([], [])
        for record in dataset:
            label = record[label_key]
            if names and int(label) < 0:
                continue
            examples.texts.append(_decode(record[text_key]))
            examples.labels.append(names[int(label)] if names else _decode(label))
        if len(examples):
            found[SPLIT_NAMES[split]] = examples
    return found
