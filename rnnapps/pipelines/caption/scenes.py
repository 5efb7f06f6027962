"""Synthetic captioned scenes: small pictures of one or two coloured shapes, with reference captions.

This is toy data for demos, tests and a controlled captioning benchmark, not a photo dataset. A scene
is a plain (or lightly noisy) grey image with one or two objects; each object has a shape (circle,
square, triangle, ...), a colour and a size (small, large). A caption names every object and, for
two objects, their spatial relation, so that a model has to look at the image and at where things
are: "a large red circle to the left of a small blue square". Each image has several reference
captions: the relation said from either object, and "there is ..." / "... is ..." phrasings.

Objects sit near the cells of a 3 x 3 grid, moved off the cell centre and resized by `jitter`. Two
objects share a row or a column and their bounding boxes are clearly apart along it and overlap
across it, so exactly one of "left of", "right of", "above", "below" is true. A benchmark can train
on one `SceneConfig` and test on another (other seed, jitter, background noise, image size) to see
what a model has learned rather than memorised.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Literal

import numpy as np

from rnnapps.errors import UserError

# RGB of each colour word; far apart from each other and from the grey background.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30), "green": (30, 170, 50), "blue": (30, 70, 230), "yellow": (245, 215, 20),
    "purple": (140, 40, 190), "orange": (250, 130, 20), "white": (250, 250, 250), "black": (15, 15, 15),
    "cyan": (20, 210, 220), "pink": (250, 120, 200), "brown": (120, 70, 30),
}
# Half extent of each size word, as a share of the image side. Sizes stay apart under the largest
# jitter (+-10%): small <= 0.088 < 0.1035 <= medium <= 0.1265 < 0.135 <= large.
SIZES: dict[str, float] = {"small": 0.08, "medium": 0.115, "large": 0.15}
BACKGROUND_LEVEL = 128  # mid grey: every colour above stands out from it
GRID = 3
MIN_GAP = 0.03  # clear space between two objects along their relation, as a share of the image side
MIN_OVERLAP = 0.5  # across the relation their extents overlap by half of the smaller object at least
MAX_TRIES = 1000


def _circle(dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    return dx * dx + dy * dy <= r * r


def _square(dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    # A little smaller than its box, so that a square does not look much bigger than a circle of its size.
    return (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)


def _triangle(dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    # Pointing up: apex at the top of the box, base at 0.8 r below the centre, so the centre is inside.
    return (dy >= -r) & (dy <= 0.8 * r) & (np.abs(dx) <= (dy + r) / 1.8)


def _diamond(dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    return np.abs(dx) + np.abs(dy) <= r


def _cross(dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    bar = r / 3
    inside = (np.abs(dx) <= r) & (np.abs(dy) <= r)
    return inside & ((np.abs(dx) <= bar) | (np.abs(dy) <= bar))


# Shape word -> mask of (x offsets, y offsets, half extent) in pixels. Add a shape here to extend the data.
SHAPES: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "circle": _circle, "square": _square, "triangle": _triangle, "diamond": _diamond, "cross": _cross,
}
RELATIONS = ("to the left of", "to the right of", "above", "below")
# The same relation said from the other object.
_INVERSE = {"to the left of": "to the right of", "to the right of": "to the left of", "above": "below",
            "below": "above"}


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """How synthetic scenes are generated.

    Attributes:
        image_size: side of the square images in pixels, 32 to 1024.
        min_objects: fewest objects in a scene, 1 or 2.
        max_objects: most objects in a scene, 1 or 2 (each count in between is equally likely).
        shapes: shape words to draw from, a subset of `SHAPES` (circle, square, triangle, diamond, cross).
        colours: colour words to draw from, a subset of `COLOURS`.
        sizes: size words to draw from, a subset of `SIZES` (small, medium, large).
        background: "plain" (uniform mid grey) or "noisy" (a random grey level per image and pixel
            noise over the whole image, objects included).
        noise: standard deviation of the pixel noise of a "noisy" background, as a share of 255, in
            [0, 0.2].
        jitter: in [0, 0.5]; 0 puts objects at the centres of a 3 x 3 grid with their nominal size,
            0.5 moves them by up to a quarter cell and scales them by up to +-10%.
        position_words: a lone object's caption says where it is ("a small green triangle at the top").
        seed: random seed; the same configuration gives the same scenes.
    """

    image_size: int = 64
    min_objects: int = 1
    max_objects: int = 2
    shapes: tuple[str, ...] = ("circle", "square", "triangle")
    colours: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple", "orange")
    sizes: tuple[str, ...] = ("small", "large")
    background: Literal["plain", "noisy"] = "plain"
    noise: float = 0.06
    jitter: float = 0.25
    position_words: bool = True
    seed: int = 0

    def __post_init__(self):
        def fail(field: str, expected: str) -> None:
            raise UserError(f"scene.{field} = {getattr(self, field)!r}: expected {expected}")

        if not _is_int(self.image_size) or not 32 <= self.image_size <= 1024:
            fail("image_size", "a whole number of pixels from 32 to 1024")
        if not _is_int(self.min_objects) or self.min_objects not in (1, 2):
            fail("min_objects", "1 or 2")
        if not _is_int(self.max_objects) or self.max_objects not in (1, 2) or self.max_objects < self.min_objects:
            fail("max_objects", f"1 or 2, at least min_objects ({self.min_objects})")
        for field, known in (("shapes", SHAPES), ("colours", COLOURS), ("sizes", SIZES)):
            values = getattr(self, field)
            if isinstance(values, str) or not isinstance(values, (tuple, list)) or not values:
                fail(field, f"a non-empty list of words from {', '.join(known)}")
            unknown = [value for value in values if value not in known]
            if unknown:
                fail(field, f"words from {', '.join(known)} ({unknown[0]!r} is not one)")
            if len(set(values)) != len(values):
                fail(field, "each word once")
        if self.background not in ("plain", "noisy"):
            fail("background", "'plain' or 'noisy'")
        if isinstance(self.noise, bool) or not isinstance(self.noise, (int, float)) or not 0 <= self.noise <= 0.2:
            fail("noise", "a share of 255 from 0 to 0.2")
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter <= 0.5:
            fail("jitter", "a number from 0 to 0.5")
        if not isinstance(self.position_words, bool):
            fail("position_words", "true or false")
        if not _is_int(self.seed):
            fail("seed", "a whole number")
        if self.max_objects == 2 and len(self.shapes) * len(self.colours) * len(self.sizes) < 2:
            fail("shapes", "with colours and sizes, at least two different objects for two-object scenes")


@dataclasses.dataclass(frozen=True)
class SceneObject:
    """One object of a scene.

    Attributes:
        shape: a key of `SHAPES`.
        colour: a key of `COLOURS`.
        size: a key of `SIZES`.
        x: horizontal centre as a share of the image width (0 = left edge).
        y: vertical centre as a share of the image height (0 = top edge).
        radius: half extent as a share of the image side; 0 = the nominal extent of `size`.
    """

    shape: str
    colour: str
    size: str
    x: float
    y: float
    radius: float = 0.0

    @property
    def extent(self) -> float:
        """Half extent as a share of the image side (the drawn shape fits in centre +- extent)."""
        return self.radius or SIZES[self.size]

    def phrase(self) -> str:
        """The object's noun phrase, e.g. "a large red circle"."""
        words = f"{self.size} {self.colour} {self.shape}"
        return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def relation(first: SceneObject, second: SceneObject) -> str | None:
    """Where `first` is relative to `second`: one of `RELATIONS`, or None when that is not clear.

    Clear means their bounding boxes are at least `MIN_GAP` apart along one axis and overlap across
    it by at least `MIN_OVERLAP` of the smaller object (side by side rather than diagonal).
    """
    overlap_needed = MIN_OVERLAP * 2 * min(first.extent, second.extent)
    reach = first.extent + second.extent
    gap_x, gap_y = abs(first.x - second.x) - reach, abs(first.y - second.y) - reach
    overlap_x, overlap_y = -gap_x, -gap_y  # how far the extents overlap (negative: apart)
    if gap_x >= MIN_GAP and overlap_y >= overlap_needed:
        return "to the left of" if first.x < second.x else "to the right of"
    if gap_y >= MIN_GAP and overlap_x >= overlap_needed:
        return "above" if first.y < second.y else "below"
    return None


def _location(obj: SceneObject) -> str:
    """Where a lone object is: "at the top", "on the left", "in the middle", "at the bottom right", ..."""
    row = min(int(obj.y * GRID), GRID - 1)
    column = min(int(obj.x * GRID), GRID - 1)
    vertical = ("top", "", "bottom")[row]
    horizontal = ("left", "", "right")[column]
    if vertical and horizontal:
        return f"at the {vertical} {horizontal}"
    if vertical:
        return f"at the {vertical}"
    if horizontal:
        return f"on the {horizontal}"
    return "in the middle"


def describe(objects: list[SceneObject] | tuple[SceneObject, ...], position_words: bool = True) -> list[str]:
    """The reference captions of a scene: lowercase words separated by single spaces, no punctuation.

    One object: "a small green triangle at the top", "there is a small green triangle at the top",
    "a small green triangle is at the top" (without `position_words`: "a small green triangle" and
    "there is a small green triangle").
    Two objects, the relation said from each: "a large red circle to the left of a small blue square",
    "there is a large red circle to the left of a small blue square", "a large red circle is to the
    left of a small blue square", then the same three from the square ("... to the right of ...").

    Args:
        objects: one or two objects.
        position_words: say where a lone object is.

    Returns:
        2 to 6 distinct captions, the first one the canonical caption.

    Raises:
        UserError: not one or two objects, or two objects without a clear relation.
    """
    if len(objects) == 1:
        phrase = objects[0].phrase()
        if not position_words:
            return [phrase, f"there is {phrase}"]
        where = _location(objects[0])
        return [f"{phrase} {where}", f"there is {phrase} {where}", f"{phrase} is {where}"]
    if len(objects) != 2:
        raise UserError(f"a scene is described with one or two objects, got {len(objects)}")
    first, second = objects
    said = relation(first, second)
    if said is None:
        raise UserError(f"the objects at ({first.x:.2f}, {first.y:.2f}) and ({second.x:.2f}, {second.y:.2f}) are "
                        "neither clearly side by side nor one above the other; move them apart")
    captions = []
    for one, rel, other in ((first, said, second), (second, _INVERSE[said], first)):
        a, b = one.phrase(), other.phrase()
        captions += [f"{a} {rel} {b}", f"there is {a} {rel} {b}", f"{a} is {rel} {b}"]
    return list(dict.fromkeys(captions))  # two identical objects say the same thing twice


def _place(rng: np.random.Generator, config: SceneConfig, row: int, column: int, size: str) -> tuple[float, ...]:
    """(x, y, radius) of an object in grid cell (row, column), moved and resized by the jitter."""
    cell = 1 / GRID
    radius = SIZES[size] * (1 + rng.uniform(-1, 1) * 0.2 * config.jitter)
    x = (column + 0.5) * cell + rng.uniform(-1, 1) * config.jitter * cell / 2
    y = (row + 0.5) * cell + rng.uniform(-1, 1) * config.jitter * cell / 2
    # Keep the whole object inside the image (the corner cells of a 3 x 3 grid are tight for large ones).
    x = float(np.clip(x, radius + 0.01, 1 - radius - 0.01))
    y = float(np.clip(y, radius + 0.01, 1 - radius - 0.01))
    return x, y, float(radius)


def sample_objects(config: SceneConfig, rng: np.random.Generator) -> list[SceneObject]:
    """Draw the objects of one scene.

    Two objects differ in at least one of shape, colour and size, so that each caption names each
    one; they share a grid row or column and are resampled until their relation is clear.

    Args:
        config: what to draw from.
        rng: the random generator (advanced by the call).

    Returns:
        One or two objects, in random order.
    """
    count = int(rng.integers(config.min_objects, config.max_objects + 1))

    def words() -> tuple[str, str, str]:
        return (str(rng.choice(config.shapes)), str(rng.choice(config.colours)), str(rng.choice(config.sizes)))

    first_words = words()
    if count == 1:
        row, column = (int(v) for v in rng.integers(0, GRID, size=2))
        x, y, radius = _place(rng, config, row, column, first_words[2])
        return [SceneObject(*first_words, x=x, y=y, radius=radius)]
    second_words = words()
    while second_words == first_words:
        second_words = words()
    for _ in range(MAX_TRIES):
        cells = [(r, c) for r in range(GRID) for c in range(GRID)]
        first_cell = cells[int(rng.integers(len(cells)))]
        # Another cell in the same row or the same column.
        others = [cell for cell in cells
                  if cell != first_cell and (cell[0] == first_cell[0] or cell[1] == first_cell[1])]
        second_cell = others[int(rng.integers(len(others)))]
        first = SceneObject(*first_words, *_place(rng, config, *first_cell, first_words[2]))
        second = SceneObject(*second_words, *_place(rng, config, *second_cell, second_words[2]))
        if relation(first, second) is not None:
            return [first, second]
    raise RuntimeError(f"no clear two-object layout in {MAX_TRIES} tries")  # unreachable with the grid above


def render_scene(objects: list[SceneObject] | tuple[SceneObject, ...], config: SceneConfig,
                 rng: np.random.Generator) -> np.ndarray:
    """Draw objects on the background `config` asks for.

    Args:
        objects: the objects, drawn in order (they do not overlap when made by `sample_objects`).
        config: image size, background and noise.
        rng: random generator for the noisy background (not used for a plain one).

    Returns:
        uint8 array [image_size, image_size, 3], RGB.
    """
    side = config.image_size
    level = BACKGROUND_LEVEL
    if config.background == "noisy":
        level = int(rng.integers(96, 161))
    image = np.full((side, side, 3), level, dtype=np.float32)
    # Pixel centres, in pixels.
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) + 0.5
    for obj in objects:
        mask = SHAPES[obj.shape](xs - obj.x * side, ys - obj.y * side, obj.extent * side)
        image[mask] = COLOURS[obj.colour]
    if config.background == "noisy" and config.noise > 0:
        image += rng.normal(0.0, config.noise * 255, size=image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def generate_scenes(count: int, config: SceneConfig) -> tuple[np.ndarray, list[list[str]]]:
    """Generate `count` captioned scenes.

    Args:
        count: number of images, 0 or more.
        config: what to draw; `config.seed` fixes the result.

    Returns:
        (images, captions): uint8 array [count, image_size, image_size, 3] (RGB), and for each image
        its reference captions (see `describe`).
    """
    images, captions, _ = _generate(count, config)
    return images, captions


def generate_scene_objects(count: int, config: SceneConfig) -> list[list[SceneObject]]:
    """The objects of the scenes `generate_scenes(count, config)` draws (same seed, same scenes)."""
    return _generate(count, config)[2]


def _generate(count: int, config: SceneConfig) -> tuple[np.ndarray, list[list[str]], list[list[SceneObject]]]:
    if not _is_int(count) or count < 0:
        raise UserError(f"the number of scenes is {count!r}: expected 0 or more")
    rng = np.random.default_rng(config.seed)
    side = config.image_size
    images = np.empty((count, side, side, 3), dtype=np.uint8)
    captions, scenes = [], []
    for index in range(count):
        objects = sample_objects(config, rng)
        images[index] = render_scene(objects, config, rng)
        captions.append(describe(objects, config.position_words))
        scenes.append(objects)
    return images, captions, scenes


def write_scenes(directory: str | pathlib.Path, count: int, config: SceneConfig) -> pathlib.Path:
    """Write generated scenes as PNG files with a caption index, readable as a TSV caption source.

    Layout: DIRECTORY/images/scene_00000.png, ... and DIRECTORY/captions.tsv, a UTF-8 file with the
    header line "image<TAB>caption" and one "images/scene_00000.png<TAB>caption" line per reference
    caption (paths relative to the TSV's folder).

    Args:
        directory: where to write (created if needed).
        count: number of scenes.
        config: what to draw.

    Returns:
        The path of captions.tsv.
    """
    from rnnapps.datasets.images import encode_png  # imports TensorFlow

    directory = pathlib.Path(directory)
    images, captions = generate_scenes(count, config)
    (directory / "images").mkdir(parents=True, exist_ok=True)
    digits = max(5, len(str(max(count - 1, 0))))
    lines = ["image\tcaption\n"]
    for index, (image, references) in enumerate(zip(images, captions)):
        relative = f"images/scene_{index:0{digits}d}.png"
        (directory / relative).write_bytes(encode_png(image))
        lines += [f"{relative}\t{caption}\n" for caption in references]
    path = directory / "captions.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return path

