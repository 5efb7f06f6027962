"""Reading a captioning recipe's data: the source in its format (`formats`), checked and split by image."""

from __future__ import annotations

import dataclasses
import logging

from rnnapps.datasets import images, splits
from rnnapps.errors import UserError
from rnnapps.pipelines.caption import data, formats

log = logging.getLogger(__name__)

MAX_NAMED = 5  # bad images named in the warning


def read_splits(config: data.CaptionDataConfig, seed: int) -> data.CaptionSplits:
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
    format = formats.resolve_format(config)
    found = formats.read_source(config, format)
    if config.max_images:
        found = {split: examples.subset(splits.sample_indices(len(examples), config.max_images, seed + 2))
                 for split, examples in found.items()}
    if format not in ("demo", "tfds"):
        found = _drop_bad_images(found, config)
    train = found.get("train")
    if train is None or len(train) == 0:
        raise UserError(f"data.source = {config.source!r} has no training images (splits found: {sorted(found)})")
    # Both fractions are shares of all images.
    train, validation, test = splits.carve_missing_splits(found, config.test_fraction, config.validation_fraction,
                                                          seed)
    return data.CaptionSplits(train, validation, test)


def evaluation_examples(config: data.CaptionDataConfig, seed: int, source: str | None) -> data.CaptionedImages:
    """The images `evaluate` scores: the recipe's test split as at training time (`source` None), or every
    image of `source`, read in the recipe's format settings but guessing the format and splitting nothing
    (its own test split if it has one, e.g. a Flickr8k folder with its split lists)."""
    if not source:
        return read_splits(config, seed).test
    config = dataclasses.replace(config, source=source, format="auto", validation_fraction=0.0, test_fraction=0.0,
                                 train_list="", validation_list="", test_list="")
    found = read_splits(config, seed)
    return found.test if len(found.test) else found.train


def _check(config: data.CaptionDataConfig) -> None:
    """Reject settings that are out of range before any data is read."""
    if config.format not in data.FORMATS:
        raise UserError(f"data.format = {config.format!r} is not one of {', '.join(data.FORMATS)}")
    splits.check_fractions(config.validation_fraction, config.test_fraction)
    if config.max_images < 0:
        raise UserError(f"data.max_images = {config.max_images}: expected 0 (all) or a positive count")
    if config.demo_count < 1:
        raise UserError(f"data.demo_count = {config.demo_count}: expected a positive number of scenes")


def _drop_bad_images(found: dict[str, data.CaptionedImages],
                     config: data.CaptionDataConfig) -> dict[str, data.CaptionedImages]:
    """Leave out images that are missing or unreadable: one warning naming a few, or an error when strict."""
    check = images.check_image if config.verify_images else images.read_image_info
    bad: list[str] = []
    total = 0
    kept: dict[str, data.CaptionedImages] = {}
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

