"""The caption sources a recipe can name, told apart (`resolve_format`) and read into `data.CaptionedImages`
per split (`read_source`): Flickr8k token files, COCO captions JSON, CSV/TSV indexes (`data.read_table`), each
split by the image lists beside it or named by the recipe; TFDS coco_captions; and the generated scenes."""

from __future__ import annotations

import json
import logging
import pathlib

from rnnapps.datasets import files, images, tfds_source
from rnnapps.errors import UserError
from rnnapps.pipelines.caption import data, scenes

log = logging.getLogger(__name__)

FLICKR8K_TOKENS = "Flickr8k.token.txt"
# The Flickr8k zip names its image folder "Flicker8k_Dataset" (sic); other copies fix the spelling.
FLICKR8K_IMAGE_FOLDERS = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images", "images")
FLICKR8K_SPLIT_LISTS = {"train": "Flickr_8k.trainImages.txt", "validation": "Flickr_8k.devImages.txt",
                        "test": "Flickr_8k.testImages.txt"}
# TFDS coco_captions has the Karpathy splits train / val / test / restval; restval is training data
# in the usual setup (113k training images).
TFDS_SPLITS = {"train": "train", "restval": "train", "val": "validation", "validation": "validation",
               "valid": "validation", "dev": "validation", "test": "test"}


def resolve_format(config: data.CaptionDataConfig) -> str:
    """The reader to use for `config.source` when `config.format` is "auto".

    Returns:
        One of flickr8k, coco, csv, tsv, tfds, demo.
    """
    if config.format != "auto":
        return config.format
    source = config.source
    if kind := files.named_kind(source):
        return kind
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
        f"{', '.join(data.FORMATS[1:])}"
    )


def read_source(config: data.CaptionDataConfig, format: str) -> dict[str, data.CaptionedImages]:
    """The source's images by the splits it defines ({"train": ...} alone when it defines none).

    Args:
        config: the recipe's data section.
        format: the resolved format (see `resolve_format`).
    """
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
        found = _by_lists(data.read_table(index, config, "," if format == "csv" else "\t"), config, path.parent)
    else:
        raise UserError(f"data.format = {format!r} is not one of {', '.join(data.FORMATS)}")
    return found


def _default_image_dir(near: pathlib.Path, names: tuple[str, ...]) -> pathlib.Path | None:
    """The first folder called one of `names` in `near` or its parent."""
    for base in (near, near.parent):
        for name in names:
            if (base / name).is_dir():
                return base / name
    return None


def _index_file(path: pathlib.Path, expected: str) -> pathlib.Path:
    """`path`, unless it is a folder (an index must be a file: `expected` says which)."""
    if path.is_dir():
        raise UserError(f"data.source = {str(path)!r} is a folder; expected {expected}")
    return path


# --------------------------------------------------------------------------- split lists


def _by_lists(examples: data.CaptionedImages, config: data.CaptionDataConfig, near: pathlib.Path,
              defaults: dict[str, pathlib.Path] | None = None) -> dict[str, data.CaptionedImages]:
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


# --------------------------------------------------------------------------- Flickr8k


def _flickr8k_token_file(folder: pathlib.Path) -> pathlib.Path | None:
    for candidate in (folder / FLICKR8K_TOKENS, folder / "Flickr8k_text" / FLICKR8K_TOKENS):
        if candidate.is_file():
            return candidate
    return None


def _read_flickr8k(path: pathlib.Path, config: data.CaptionDataConfig) -> dict[str, data.CaptionedImages]:
    token_file = path
    if path.is_dir():
        token_file = _flickr8k_token_file(path)
        if token_file is None:
            raise UserError(f"data.source = {str(path)!r} is a folder without {FLICKR8K_TOKENS}; point data.source "
                            "at the Flickr8k caption file")
    image_dir = (data.configured_image_dir(config) or _default_image_dir(token_file.parent, FLICKR8K_IMAGE_FOLDERS)
                 or token_file.parent)
    collector = data.Collector()
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
        collector.add(name, data.image_path(name, image_dir), caption)
    if not len(collector.examples):
        raise UserError(f"{token_file} is empty: expected IMAGE#N<TAB>caption lines")
    lists = {split: token_file.parent / file for split, file in FLICKR8K_SPLIT_LISTS.items()}
    return _by_lists(collector.examples, config, token_file.parent,
                         defaults={split: file for split, file in lists.items() if file.is_file()})


# --------------------------------------------------------------------------- COCO JSON


def _read_coco(path: pathlib.Path, config: data.CaptionDataConfig) -> data.CaptionedImages:
    try:
        found = json.loads(path.read_text(encoding=config.encoding).removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise UserError(f"{path} is not valid {config.encoding}; re-save it as UTF-8 or set data.encoding") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path} line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(found, dict) or not isinstance(found.get("images"), list) \
            or not isinstance(found.get("annotations"), list):
        raise UserError(f"{path}: expected a COCO captions JSON object with \"images\" and \"annotations\" lists")
    # COCO puts captions_train2014.json in annotations/, beside the train2014/ image folder.
    stem = path.stem.removeprefix("captions_")
    image_dir = data.configured_image_dir(config) or _default_image_dir(path.parent, (stem,)) or path.parent
    files_by_id: dict = {}
    for number, image in enumerate(found["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise UserError(f"{path}: images[{number}] needs an \"id\" and a \"file_name\"")
        files_by_id[image["id"]] = image["file_name"]
    collector = data.Collector()
    captions_by_id: dict = {}
    for number, annotation in enumerate(found["annotations"]):
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
            collector.add(name, data.image_path(name, image_dir), caption)
    if not len(collector.examples):
        raise UserError(f"{path} has no captions (a COCO image-info file without \"annotations\"?)")
    return collector.examples


# --------------------------------------------------------------------------- demo and TFDS


def _read_demo(config: data.CaptionDataConfig) -> data.CaptionedImages:
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
    return data.CaptionedImages([images.encode_png(picture) for picture in pictures], captions,
                                [f"scene_{index:0{digits}d}" for index in range(len(pictures))])


def _read_tfds(config: data.CaptionDataConfig, limit: int = 0) -> dict[str, data.CaptionedImages]:
    """The TFDS splits as captioned images, at most `limit` per split (0 = all); train and restval
    both feed "train" and share the limit."""
    name = config.source.removeprefix("tfds:")
    # Images stay encoded: decoding every COCO image while reading would hold ~1 MB of pixels per image in
    # memory instead of ~160 KB of JPEG.
    datasets, info = tfds_source.load_splits(name, config.tfds_data_dir, skip_decoding=("image",))
    for key in ("image", "captions"):
        if key not in info.features:
            raise UserError(f"TFDS dataset {name!r} has no feature {key!r}; it has {sorted(info.features)} "
                            "(a caption dataset needs \"image\" and \"captions\" with \"text\", like coco_captions)")
    found: dict[str, data.CaptionedImages] = {}
    for split, dataset in datasets.items():
        if split not in TFDS_SPLITS:
            continue
        examples = found.setdefault(TFDS_SPLITS[split], data.CaptionedImages([], [], []))
        for number, record in enumerate(dataset):
            if limit and len(examples) >= limit:
                break
            texts = [tfds_source.decode_text(text).strip() for text in record["captions"]["text"]]
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
            examples.names.append(tfds_source.decode_text(filename) if filename is not None else f"{split}/{number}")
    return {split: examples for split, examples in found.items() if len(examples)}
