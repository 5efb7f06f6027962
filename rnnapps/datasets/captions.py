"""Captioned images for image captioning: Flickr8k, COCO caption files, CSV/TSV indexes, TFDS
coco_captions and generated scenes, read into one structure and split by image (no image is in two
splits).

Local images are kept as absolute paths and checked from their headers while reading (missing,
empty, not an image, too large); they are decoded later by `rnnapps.datasets.images`. Generated
scenes and TFDS images are kept in memory as encoded bytes (PNG for scenes, the dataset's own JPEG
bytes for TFDS: about 160 KB per COCO image, so use `max_images` for quick runs).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
from typing import Literal

import numpy as np

from rnnapps.datasets import files, images, scenes, splits
from rnnapps.errors import UserError

log = logging.getLogger(__name__)

FORMATS = ("auto", "flickr8k", "coco", "csv", "tsv", "tfds", "demo")
FLICKR8K_TOKENS = "Flickr8k.token.txt"
# The Flickr8k zip names its image folder "Flicker8k_Dataset" (sic); other copies fix the spelling.
FLICKR8K_IMAGE_FOLDERS = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images", "images")
FLICKR8K_SPLIT_LISTS = {"train": "Flickr_8k.trainImages.txt", "validation": "Flickr_8k.devImages.txt",
                        "test": "Flickr_8k.testImages.txt"}
# TFDS coco_captions has the Karpathy splits train / val / test / restval; restval is training data
# in the usual setup (113k training images).
TFDS_SPLITS = {"train": "train", "restval": "train", "val": "validation", "validation": "validation",
               "valid": "validation", "dev": "validation", "test": "test"}
MAX_NAMED = 5  # bad images named in the warning


@dataclasses.dataclass(frozen=True)
class CaptionDataConfig:
    """Where captioned images come from and how they are split.

    Attributes:
        source: "demo:scenes" (generated scenes, see `rnnapps.datasets.scenes`); a Flickr8k caption
            file (Flickr8k.token.txt, `IMAGE#N<TAB>caption` lines) or the folder holding it; a COCO
            captions JSON (captions_train2014.json: "images" and "annotations"); a CSV/TSV index
            with an image path and a caption per row (one row per caption; Kaggle's Flickr8k
            captions.txt is a CSV); or "tfds:coco_captions".
        format: "auto" guesses it from the source; or one of flickr8k, coco, csv, tsv, tfds, demo.
        image_dir: folder of the images named by the index ("" = the default: for Flickr8k the
            Flicker8k_Dataset / Flickr8k_Dataset / Images folder beside the caption file or its
            folder; for COCO the folder named after the JSON (train2014 for captions_train2014.json)
            beside it or beside its folder; otherwise the index file's folder). Absolute paths in the
            index are used as they are.
        image_column: CSV/TSV column of the image path: a name (with a header) or 0-based index.
        caption_column: CSV/TSV column of the caption, likewise.
        header: CSV/TSV files start with a header row.
        encoding: text encoding of local files.
        train_list: a file of image names (one per line, as the index writes them) for training;
            "" = Flickr_8k.trainImages.txt beside a Flickr8k caption file when present.
        validation_list: likewise for validation (Flickr_8k.devImages.txt).
        test_list: likewise for test (Flickr_8k.testImages.txt). Setting any of the three lists
            turns the Flickr8k defaults off. With a training list, images in no list are left out;
            without one, every image in no list trains. A split without a list is carved from the
            training images.
        validation_fraction: share of all images held out for validation when there is no
            validation list or split.
        test_fraction: share of all images held out for test when there is no test list or split.
        max_images: keep at most this many images of each split the source has (a random subset
            chosen with the seed, before validation and test are carved; for TFDS the first ones in
            the dataset's order, so that the rest is never read); 0 = all. Images found missing
            afterwards are skipped, so a split can end up smaller.
        strict: a missing or unreadable image is an error; otherwise such images are counted,
            named in one warning and skipped.
        verify_images: decode every local image while reading (slow) to catch files truncated after
            a valid header; otherwise only headers are checked.
        one_caption_per_image: each training epoch shows every image once, with one of its captions
            drawn afresh every epoch, instead of once per caption. An epoch then runs the image encoder
            once per image: several times faster when the encoder trains and images have several
            captions (5 in Flickr8k and COCO). Validation and test always use every caption.
        demo_count: number of generated scenes for "demo:scenes".
        demo_seed: random seed of the generated scenes.
        demo_image_size: side of the generated scenes in pixels.
        demo_background: "plain" or "noisy" background of the generated scenes.
        demo_jitter: position and size jitter of the generated scenes, in [0, 0.5].
        demo_max_objects: most objects in a generated scene, 1 or 2.
        tfds_data_dir: TFDS data directory ("" = the TFDS default).
    """

    source: str = "demo:scenes"
    format: Literal["auto", "flickr8k", "coco", "csv", "tsv", "tfds", "demo"] = "auto"
    image_dir: str = ""
    image_column: str | int = "image"
    caption_column: str | int = "caption"
    header: bool = True
    encoding: str = "utf-8"
    train_list: str = ""
    validation_list: str = ""
    test_list: str = ""
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    max_images: int = 0
    strict: bool = False
    verify_images: bool = False
    one_caption_per_image: bool = False
    demo_count: int = 2000
    demo_seed: int = 0
    demo_image_size: int = 64
    demo_background: Literal["plain", "noisy"] = "plain"
    demo_jitter: float = 0.25
    demo_max_objects: int = 2
    tfds_data_dir: str = ""


@dataclasses.dataclass
class CaptionedImages:
    """Images and all their reference captions, one entry per image.

    Attributes:
        images: per image, an absolute file path (str) or the encoded image bytes (bytes: generated
            scenes as PNG, TFDS images as JPEG); `rnnapps.datasets.images.load_image` takes both.
        captions: per image, its reference captions (at least one), surrounding whitespace removed,
            case and script as in the source.
        names: per image, a short name for logs and reports: the image as the index names it
            ("1000268201_693b08cb0e.jpg"), or "scene_00012" for generated scenes.
    """

    images: list[str | bytes]
    captions: list[list[str]]
    names: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices) -> CaptionedImages:
        """The images at `indices` (a list or an integer array), in that order."""
        return CaptionedImages([self.images[i] for i in indices], [self.captions[i] for i in indices],
                               [self.names[i] for i in indices])

    def pairs(self) -> tuple[list[str | bytes], list[str]]:
        """One (image, caption) pair per reference caption, for training.

        Returns:
            (images, captions), two lists of equal length; an image repeats once per caption.
        """
        flat_images, flat_captions = [], []
        for image, references in zip(self.images, self.captions):
            flat_images += [image] * len(references)
            flat_captions += references
        return flat_images, flat_captions


@dataclasses.dataclass
class CaptionSplits:
    """Train / validation / test images; no image is in two of them."""

    train: CaptionedImages
    validation: CaptionedImages
    test: CaptionedImages


def resolve_format(config: CaptionDataConfig) -> str:
    """The reader to use for `config.source` when `config.format` is "auto".

    Returns:
        One of flickr8k, coco, csv, tsv, tfds, demo.
    """
    if config.format != "auto":
        return config.format
    source = config.source
    if source.startswith("tfds:"):
        return "tfds"
    if source.startswith("demo:"):
        return "demo"
    lowered = source.lower()
    for suffix, name in ((".json", "coco"), (".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv")):
        if lowered.endswith(suffix):
            return name
    path = files.existing_path(source)  # a missing source is reported as missing, whatever its name
    if path.is_dir():
        if _flickr8k_token_file(path) is not None:
            return "flickr8k"
        raise UserError(f"data.source = {source!r} is a folder without {FLICKR8K_TOKENS}; point data.source at a "
                        "caption file (Flickr8k token file, COCO captions JSON, CSV or TSV)")
    if lowered.endswith(".txt"):
        first = next((line for _, line in files.read_lines(path, config.encoding) if line.strip()), "")
        # Flickr8k: "1000268201_693b08cb0e.jpg#0<TAB>A child ..."; Kaggle's captions.txt: "image,caption".
        if "\t" in first and "#" in first.split("\t")[0]:
            return "flickr8k"
        if "," in first and "\t" not in first:
            return "csv"
    raise UserError(
        f"data.source = {source!r}: cannot tell its format from the name; set data.format to one of "
        f"{', '.join(FORMATS[1:])}"
    )


def read_splits(config: CaptionDataConfig, seed: int) -> CaptionSplits:
    """Read the captioned images a recipe names and split them by image.

    Splits the source defines (Flickr8k split lists, the `*_list` files, TFDS splits) are used as they
    are; missing validation and test splits are carved from the training images, so each image with
    all its captions lands in exactly one split.

    Args:
        config: the recipe's data section.
        seed: split seed; the same seed gives the same splits (and the same `max_images` subset).

    Returns:
        The train, validation and test images, each in source order.

    Raises:
        UserError: a setting is out of range; the source is missing, empty or malformed (naming the
            file and line); no image is readable; or, with `strict`, any image is missing or unreadable.
    """
    _check(config)
    format = resolve_format(config)
    found = _read_source(config, format)
    if config.max_images:
        found = {split: _sample(examples, config.max_images, seed + 2) for split, examples in found.items()}
    if format not in ("demo", "tfds"):
        found = _drop_bad_images(found, config)
    train = found.get("train")
    if train is None or len(train) == 0:
        raise UserError(f"data.source = {config.source!r} has no training images (splits found: {sorted(found)})")
    test, validation = found.get("test"), found.get("validation")
    validation_fraction = config.validation_fraction
    if test is None:
        keep, held = splits.split_indices(len(train), config.test_fraction, seed)
        train, test = train.subset(keep), train.subset(held)
        # Both fractions are shares of all images: validation comes from what test left.
        validation_fraction /= 1 - config.test_fraction
    if validation is None:
        keep, held = splits.split_indices(len(train), validation_fraction, seed + 1)
        train, validation = train.subset(keep), train.subset(held)
    return CaptionSplits(train, validation, test)


def _check(config: CaptionDataConfig) -> None:
    """Reject settings that are out of range before any data is read."""
    if config.format not in FORMATS:
        raise UserError(f"data.format = {config.format!r} is not one of {', '.join(FORMATS)}")
    for field in ("validation_fraction", "test_fraction"):
        value = getattr(config, field)
        if not 0 <= value < 1:
            raise UserError(f"data.{field} = {value}: expected a share in [0, 1)")
    total = config.validation_fraction + config.test_fraction
    if total >= 1:
        raise UserError(f"data.validation_fraction + data.test_fraction = {total:g} leaves no training data; "
                        "keep the sum below 1")
    if config.max_images < 0:
        raise UserError(f"data.max_images = {config.max_images}: expected 0 (all) or a positive count")
    if config.demo_count < 1:
        raise UserError(f"data.demo_count = {config.demo_count}: expected a positive number of scenes")


def _read_source(config: CaptionDataConfig, format: str) -> dict[str, CaptionedImages]:
    if format == "demo":
        return {"train": _read_demo(config)}
    if format == "tfds":
        return _read_tfds(config, config.max_images)
    path = files.existing_path(config.source)
    if format == "flickr8k":
        found = _read_flickr8k(path, config)
    elif format == "coco":
        found = _by_lists(_read_coco(_index_file(path, "a COCO captions JSON"), config), config, path.parent)
    elif format in ("csv", "tsv"):
        index = _index_file(path, f"a {format.upper()} file")
        found = _by_lists(_read_table(index, config, "," if format == "csv" else "\t"), config, path.parent)
    else:
        raise UserError(f"data.format = {format!r} is not one of {', '.join(FORMATS)}")
    return found


def _index_file(path: pathlib.Path, expected: str) -> pathlib.Path:
    if path.is_dir():
        raise UserError(f"data.source = {str(path)!r} is a folder; expected {expected}")
    return path


# --------------------------------------------------------------------------- grouping captions by image


class _Collector:
    """Gathers (image, caption) rows into one entry per image, in order of first appearance."""

    def __init__(self) -> None:
        self.position: dict[str, int] = {}
        self.examples = CaptionedImages([], [], [])

    def add(self, name: str, path: str, caption: str) -> None:
        index = self.position.get(path)
        if index is None:
            index = self.position[path] = len(self.examples)
            self.examples.images.append(path)
            self.examples.captions.append([])
            self.examples.names.append(name)
        self.examples.captions[index].append(caption)


def _image_path(name: str, image_dir: pathlib.Path) -> str:
    """The absolute path of an image the index names (relative to `image_dir` unless absolute)."""
    return os.path.abspath(image_dir / pathlib.Path(name).expanduser())


def _configured_image_dir(config: CaptionDataConfig) -> pathlib.Path | None:
    if not config.image_dir:
        return None
    path = pathlib.Path(config.image_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"data.image_dir = {config.image_dir!r}: no such folder (looked in {pathlib.Path.cwd()})")
    return path


# --------------------------------------------------------------------------- Flickr8k


def _flickr8k_token_file(folder: pathlib.Path) -> pathlib.Path | None:
    for candidate in (folder / FLICKR8K_TOKENS, folder / "Flickr8k_text" / FLICKR8K_TOKENS):
        if candidate.is_file():
            return candidate
    return None


def _default_image_dir(near: pathlib.Path, names: tuple[str, ...]) -> pathlib.Path | None:
    """The first folder called one of `names` in `near` or its parent."""
    for base in (near, near.parent):
        for name in names:
            if (base / name).is_dir():
                return base / name
    return None


def _read_flickr8k(path: pathlib.Path, config: CaptionDataConfig) -> dict[str, CaptionedImages]:
    token_file = path
    if path.is_dir():
        token_file = _flickr8k_token_file(path)
        if token_file is None:
            raise UserError(f"data.source = {str(path)!r} is a folder without {FLICKR8K_TOKENS}; point data.source "
                            "at the Flickr8k caption file")
    image_dir = (_configured_image_dir(config) or _default_image_dir(token_file.parent, FLICKR8K_IMAGE_FOLDERS)
                 or token_file.parent)
    collector = _Collector()
    for number, line in files.read_lines(token_file, config.encoding):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        if not tab:
            raise UserError(f"{token_file} line {number}: expected IMAGE#N<TAB>caption, found no tab")
        name = key.strip().rpartition("#")[0] or key.strip()  # "1000268201_693b08cb0e.jpg#0" -> the file name
        caption = caption.strip()
        if not name or not caption:
            raise UserError(f"{token_file} line {number}: the {'image name' if not name else 'caption'} is empty; "
                            "fill it in or delete the line")
        collector.add(name, _image_path(name, image_dir), caption)
    if not len(collector.examples):
        raise UserError(f"{token_file} is empty: expected IMAGE#N<TAB>caption lines")
    lists = {split: token_file.parent / file for split, file in FLICKR8K_SPLIT_LISTS.items()}
    return _by_lists(collector.examples, config, token_file.parent,
                     defaults={split: file for split, file in lists.items() if file.is_file()})


# --------------------------------------------------------------------------- split lists


def _by_lists(examples: CaptionedImages, config: CaptionDataConfig, near: pathlib.Path,
              defaults: dict[str, pathlib.Path] | None = None) -> dict[str, CaptionedImages]:
    """Split `examples` by the image lists the config names (or the `defaults` found beside the index).

    Returns:
        {"train": ...} when there are no lists; otherwise one entry per list, holding the images the
        list names, in index order (images in no list are left out).
    """
    given = {split: getattr(config, f"{split}_list") for split in ("train", "validation", "test")}
    lists: dict[str, pathlib.Path] = {}
    for split, value in given.items():
        if value:
            lists[split] = files.existing_path(value, f"data.{split}_list")
    if not lists:
        lists = dict(defaults or {})
    if not lists:
        return {"train": examples}
    wanted: dict[str, str] = {}  # image name -> split
    for split, list_path in lists.items():
        for number, line in files.read_lines(list_path, config.encoding):
            name = line.strip()
            if not name:
                continue
            if wanted.setdefault(name, split) != split:
                raise UserError(f"{list_path} line {number}: image {name!r} is also in the {wanted[name]} list; "
                                "an image may be in one split only")
    found: dict[str, list[int]] = {}
    for index, name in enumerate(examples.names):
        split = wanted.get(name)
        if split is not None:
            found.setdefault(split, []).append(index)
    if not found:
        raise UserError(f"none of the images in the split lists ({', '.join(str(p) for p in lists.values())}) is in "
                        f"the caption index; the lists must name images as the index does, e.g. {examples.names[0]!r}")
    if "train" not in found and "train" not in lists:
        # Only held-out lists given: every other image trains.
        held = {index for indices in found.values() for index in indices}
        found["train"] = [index for index in range(len(examples)) if index not in held]
    left_out = len(examples) - sum(len(indices) for indices in found.values())
    if left_out:  # Flickr8k: 91 of its 8,091 captioned images are in none of its lists
        log.info("%d of %d captioned images are in no split list and are left out", left_out, len(examples))
    return {split: examples.subset(indices) for split, indices in found.items()}


# --------------------------------------------------------------------------- COCO JSON


def _read_coco(path: pathlib.Path, config: CaptionDataConfig) -> CaptionedImages:
    try:
        data = json.loads(path.read_text(encoding=config.encoding).removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise UserError(f"{path} is not valid {config.encoding}; re-save it as UTF-8 or set data.encoding") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path} line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise UserError(f"{path}: expected a COCO captions JSON object with \"images\" and \"annotations\" lists")
    # COCO puts captions_train2014.json in annotations/, beside the train2014/ image folder.
    stem = path.stem.removeprefix("captions_")
    image_dir = _configured_image_dir(config) or _default_image_dir(path.parent, (stem,)) or path.parent
    files_by_id: dict = {}
    for number, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise UserError(f"{path}: images[{number}] needs an \"id\" and a \"file_name\"")
        files_by_id[image["id"]] = image["file_name"]
    collector = _Collector()
    captions_by_id: dict = {}
    for number, annotation in enumerate(data["annotations"]):
        if not isinstance(annotation, dict) or not isinstance(annotation.get("caption"), str):
            raise UserError(f"{path}: annotations[{number}] has no \"caption\" string")
        image_id = annotation.get("image_id")
        if image_id not in files_by_id:
            raise UserError(f"{path}: annotations[{number}] refers to image_id {image_id!r}, which is not among "
                            "\"images\"")
        caption = annotation["caption"].strip()
        if caption:  # COCO has a few blank captions; a published file cannot be fixed by the user
            captions_by_id.setdefault(image_id, []).append(caption)
    for image_id, name in files_by_id.items():  # in the order of "images"; images without captions are left out
        for caption in captions_by_id.get(image_id, []):
            collector.add(name, _image_path(name, image_dir), caption)
    if not len(collector.examples):
        raise UserError(f"{path} has no captions (a COCO image-info file without \"annotations\"?)")
    return collector.examples


# --------------------------------------------------------------------------- CSV / TSV


def _column_index(header: list[str] | None, column: str | int, field: str, path: pathlib.Path) -> int:
    if isinstance(column, int):
        return column
    if column.isdigit() and header is None:
        return int(column)
    if header is None:
        raise UserError(f"data.{field} = {column!r} names a column, but data.header = false; use a 0-based index")
    if column not in header:
        raise UserError(f"{path}: no column {column!r} for data.{field}; the header has {header}")
    return header.index(column)


def _read_table(path: pathlib.Path, config: CaptionDataConfig, delimiter: str) -> CaptionedImages:
    rows = files.read_delimited(path, delimiter, config.encoding)
    header = None
    if config.header:
        first = next(rows, None)
        if first is None:
            raise UserError(f"{path} is empty")
        header = [name.strip() for name in first[1]]
    image_index = _column_index(header, config.image_column, "image_column", path)
    caption_index = _column_index(header, config.caption_column, "caption_column", path)
    needed = max(image_index, caption_index) + 1
    image_dir = _configured_image_dir(config) or path.parent
    collector = _Collector()
    for number, row in rows:
        if len(row) < needed:
            raise UserError(f"{path} line {number}: expected at least {needed} columns (image in column "
                            f"{image_index}, caption in column {caption_index}), found {len(row)}")
        name, caption = row[image_index].strip(), row[caption_index].strip()
        if not name or not caption:
            raise UserError(f"{path} line {number}: the {'image path' if not name else 'caption'} is empty; "
                            "fill it in or delete the line")
        collector.add(name, _image_path(name, image_dir), caption)
    if not len(collector.examples):
        raise UserError(f"{path} has no captions")
    return collector.examples


# --------------------------------------------------------------------------- checking local images


def _drop_bad_images(found: dict[str, CaptionedImages], config: CaptionDataConfig) -> dict[str, CaptionedImages]:
    """Leave out images that are missing or unreadable: one warning naming a few, or an error when strict."""
    check = images.check_image if config.verify_images else images.read_image_info
    bad: list[str] = []
    total = 0
    kept: dict[str, CaptionedImages] = {}
    for split, examples in found.items():
        good = []
        for index, path in enumerate(examples.images):
            total += 1
            try:
                check(path)
            except UserError as error:
                if config.strict:
                    raise UserError(f"{error} (data.strict = true; set it to false to skip missing or unreadable "
                                    "images)") from None
                bad.append(str(error))
                continue
            good.append(index)
        kept[split] = examples.subset(good)
    if bad and len(bad) == total:
        image_dir = config.image_dir or "its default"
        raise UserError(f"none of the {total} images of {config.source} could be read (e.g. {bad[0]}); check "
                        f"data.image_dir (now {image_dir})")
    if bad:
        more = f" | and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        log.warning("skipped %d of %d images that are missing or unreadable: %s%s (set data.strict = true to stop "
                    "on them instead)", len(bad), total, " | ".join(bad[:MAX_NAMED]), more)
    return kept


def _sample(examples: CaptionedImages, limit: int, seed: int) -> CaptionedImages:
    """At most `limit` images, chosen at random with `seed`, kept in source order."""
    if len(examples) <= limit:
        return examples
    chosen = np.random.default_rng(seed).permutation(len(examples))[:limit]
    return examples.subset(np.sort(chosen))


# --------------------------------------------------------------------------- demo and TFDS


def _read_demo(config: CaptionDataConfig) -> CaptionedImages:
    name = config.source.removeprefix("demo:")
    if name != "scenes":
        raise UserError(f"unknown demo dataset 'demo:{name}'; known: demo:scenes")
    try:
        scene_config = scenes.SceneConfig(image_size=config.demo_image_size, background=config.demo_background,
                                          jitter=config.demo_jitter, max_objects=config.demo_max_objects,
                                          seed=config.demo_seed)
    except UserError as error:
        # SceneConfig names its fields "scene.FIELD"; here they are set as data.demo_FIELD.
        raise UserError(str(error).replace("scene.", "data.demo_", 1)) from None
    pictures, captions = scenes.generate_scenes(config.demo_count, scene_config)
    digits = max(5, len(str(config.demo_count - 1)))
    return CaptionedImages([images.encode_png(picture) for picture in pictures], captions,
                           [f"scene_{index:0{digits}d}" for index in range(len(pictures))])


def _load_tfds_encoded(name: str, data_dir: str):
    """Like `tfds_source.load_splits`, but images stay encoded: decoding every COCO image while reading
    would hold ~1 MB of pixels per image in memory instead of ~160 KB of JPEG."""
    import tensorflow_datasets as tfds  # slow import; only TFDS sources need it

    try:
        datasets, info = tfds.load(name, data_dir=data_dir or None, with_info=True,
                                   decoders={"image": tfds.decode.SkipDecoding()})
    except Exception as error:  # TFDS raises many types (DatasetNotFoundError, network errors, ...)
        raise UserError(
            f"cannot load TFDS dataset {name!r}: {str(error).splitlines()[0] if str(error) else type(error).__name__}. "
            "Check the name (tfds.list_builders()), or prepare it on a machine with a network and set "
            "data.tfds_data_dir, or point data.source at local files"
        ) from None
    return {split: tfds.as_numpy(dataset) for split, dataset in datasets.items()}, info


def _read_tfds(config: CaptionDataConfig, limit: int = 0) -> dict[str, CaptionedImages]:
    """The TFDS splits as captioned images, at most `limit` per split (0 = all); train and restval
    both feed "train" and share the limit."""
    name = config.source.removeprefix("tfds:")
    datasets, info = _load_tfds_encoded(name, config.tfds_data_dir)
    for key in ("image", "captions"):
        if key not in info.features:
            raise UserError(f"TFDS dataset {name!r} has no feature {key!r}; it has {sorted(info.features)} "
                            "(a caption dataset needs \"image\" and \"captions\" with \"text\", like coco_captions)")
    found: dict[str, CaptionedImages] = {}
    for split, dataset in datasets.items():
        if split not in TFDS_SPLITS:
            continue
        examples = found.setdefault(TFDS_SPLITS[split], CaptionedImages([], [], []))
        for number, record in enumerate(dataset):
            if limit and len(examples) >= limit:
                break
            texts = [_decode(text).strip() for text in record["captions"]["text"]]
            texts = [text for text in texts if text]
            if not texts:
                continue  # a published dataset cannot be fixed by the user: skip images without captions
            image = record["image"]
            if not isinstance(image, bytes):
                # Decoded pixels (a dataset read without the skip-decoding hint): store them as PNG.
                image = images.encode_png(image)
            filename = record.get("image/filename")
            examples.images.append(image)
            examples.captions.append(texts)
            examples.names.append(_decode(filename) if filename is not None else f"{split}/{number}")
    return {split: examples for split, examples in found.items() if len(examples)}


def _decode(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
