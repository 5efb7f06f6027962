"""Captioned images: the data section of a captioning recipe, what the readers return, and how the images
are checked and split by image (no image is in two splits).

Which reader a source needs, and the readers of the published formats, are in `formats` (Flickr8k, COCO,
TFDS, the generated scenes, split lists); this module holds what they share (grouping captions by image,
image paths) and the CSV/TSV reader.
Local images are kept as absolute paths and checked from their headers while reading (missing, empty, not an
image, too large); they are decoded later by `rnnapps.datasets.images`. Generated scenes and TFDS images are
kept in memory as encoded bytes (PNG for scenes, the dataset's own JPEG bytes for TFDS: about 160 KB per COCO
image, so use `max_images` for quick runs).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Literal

from rnnapps.datasets import files
from rnnapps.errors import UserError

FORMATS = ("auto", "flickr8k", "coco", "csv", "tsv", "tfds", "demo")


@dataclasses.dataclass(frozen=True)
class CaptionDataConfig:
    """Where captioned images come from, how they are split, and which captions train.

    Attributes:
        source: "demo:scenes" (generated scenes, see `rnnapps.pipelines.caption.scenes`); a Flickr8k caption
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
        max_caption_length: training and validation captions of this many tokens or more are left out
            (a caption trains as its tokens plus END, at most this many steps); 0 or empty captions are
            always left out. Unless `decoding.max_output_length` says otherwise, captions are generated up
            to 5 tokens longer. (Called `decoder.max_length` in older recipes.)
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
    max_caption_length: int = 30
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


# --------------------------------------------------------------------------- grouping captions by image


class Collector:
    """Gathers (image, caption) rows into one entry per image, in order of first appearance."""

    def __init__(self) -> None:
        self.position: dict[str, int] = {}
        self.examples = CaptionedImages([], [], [])

    def add(self, name: str, path: str, caption: str) -> None:
        """Add one caption of the image at `path` (called `name` in reports)."""
        index = self.position.get(path)
        if index is None:
            index = self.position[path] = len(self.examples)
            self.examples.images.append(path)
            self.examples.captions.append([])
            self.examples.names.append(name)
        self.examples.captions[index].append(caption)


def image_path(name: str, image_dir: pathlib.Path) -> str:
    """The absolute path of an image the index names (relative to `image_dir` unless absolute)."""
    return os.path.abspath(image_dir / pathlib.Path(name).expanduser())


def configured_image_dir(config: CaptionDataConfig) -> pathlib.Path | None:
    """`data.image_dir` as a folder, None when it is not set.

    Raises:
        UserError: it is set but is not a folder.
    """
    if not config.image_dir:
        return None
    path = pathlib.Path(config.image_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"data.image_dir = {config.image_dir!r}: no such folder (looked in {pathlib.Path.cwd()})")
    return path


# --------------------------------------------------------------------------- CSV / TSV


def read_table(path: pathlib.Path, config: CaptionDataConfig, delimiter: str) -> CaptionedImages:
    """A CSV (`delimiter` ",") or TSV ("\\t") index of image, caption rows, grouped by image.

    Raises:
        UserError: the file is empty, a column is missing or a cell is empty (naming the line).
    """
    rows = files.read_delimited(path, delimiter, config.encoding)
    header = None
    if config.header:
        first = next(rows, None)
        if first is None:
            raise UserError(f"{path} is empty")
        header = [name.strip() for name in first[1]]
    image_index = files.column_index(header, config.image_column, "image_column", path)
    caption_index = files.column_index(header, config.caption_column, "caption_column", path)
    needed = max(image_index, caption_index) + 1
    image_dir = configured_image_dir(config) or path.parent
    collector = Collector()
    for number, row in rows:
        if len(row) < needed:
            raise UserError(f"{path} line {number}: expected at least {needed} columns (image in column "
                            f"{image_index}, caption in column {caption_index}), found {len(row)}")
        name, caption = row[image_index].strip(), row[caption_index].strip()
        if not name or not caption:
            raise UserError(f"{path} line {number}: the {'image path' if not name else 'caption'} is empty; "
                            "fill it in or delete the line")
        collector.add(name, image_path(name, image_dir), caption)
    if not len(collector.examples):
        raise UserError(f"{path} has no captions")
    return collector.examples


# --------------------------------------------------------------------------- checking local images
