"""Synthetic scenes: deterministic, captions that match what is drawn (colour, shape, size, relation,
position), several references per image, validated settings, and other configurations that differ."""

import re

import numpy as np
import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.caption import scenes

PLAIN = scenes.SceneConfig(seed=3)
NOUN = r"a (small|large) (\w+) (\w+)"
TWO = re.compile(rf"^{NOUN} (to the left of|to the right of|above|below) {NOUN}$")
ONE = re.compile(rf"^{NOUN} (at the (?:top|bottom)(?: left| right)?|on the (?:left|right)|in the middle)$")


@pytest.fixture(scope="module")
def generated():
    return scenes.generate_scenes(120, PLAIN)


def test_same_config_same_scenes_other_seed_other_scenes(generated):
    images, captions = generated
    again_images, again_captions = scenes.generate_scenes(120, PLAIN)
    assert images.shape == (120, 64, 64, 3) and images.dtype == np.uint8
    assert np.array_equal(images, again_images) and captions == again_captions
    other_images, other_captions = scenes.generate_scenes(120, scenes.SceneConfig(seed=4))
    assert not np.array_equal(images, other_images) and captions != other_captions


def test_several_lowercase_references_per_image(generated):
    _, captions = generated
    counts = {len(references) for references in captions}
    assert counts == {3, 6}  # one object (with position) / two objects (the relation said both ways)
    for references in captions:
        assert len(set(references)) == len(references)
        for caption in references:
            assert caption == caption.lower() == " ".join(caption.split())
        if len(references) == 6:
            first, second = TWO.match(references[0]).groups(), TWO.match(references[3]).groups()
            inverse = {"to the left of": "to the right of", "to the right of": "to the left of",
                       "above": "below", "below": "above"}
            assert second == (*first[4:], inverse[first[3]], *first[:3])  # the same scene from the other object
            assert references[1] == "there is " + references[0]
            assert references[2] == references[0].replace(f" {first[3]} ", f" is {first[3]} ", 1)


def _object_masks(image):
    """{colour word: boolean mask} of the palette colours drawn in a plain-background image."""
    return {colour: np.all(image == np.array(rgb, dtype=np.uint8), axis=-1)
            for colour, rgb in scenes.COLOURS.items() if np.all(image == rgb, axis=-1).any()}


def _measure(mask):
    rows, columns = np.nonzero(mask)
    height, width = rows.max() - rows.min() + 1, columns.max() - columns.min() + 1
    fill = mask.sum() / (height * width)
    shape = "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"
    size = "large" if max(height, width) > 13 else "small"
    return {"x": columns.mean(), "y": rows.mean(), "shape": shape, "size": size,
            "top": rows.min(), "bottom": rows.max(), "left": columns.min(), "right": columns.max()}


def test_captions_match_the_pixels(generated):
    """Read the canonical caption, find each named colour in the image and check its shape (how much of
    its box it fills), size (its extent) and the relation (where the two are), independently of the
    generator's own object records."""
    images, captions = generated
    checked_two = checked_one = 0
    for image, references in zip(images, captions):
        masks = _object_masks(image)
        two = TWO.match(references[0])
        if two:
            size_a, colour_a, shape_a, relation, size_b, colour_b, shape_b = two.groups()
            if colour_a == colour_b:
                continue  # the masks would merge
            assert set(masks) == {colour_a, colour_b}
            a, b = _measure(masks[colour_a]), _measure(masks[colour_b])
            assert (a["shape"], a["size"], b["shape"], b["size"]) == (shape_a, size_a, shape_b, size_b)
            expected = {"to the left of": a["right"] < b["left"], "to the right of": a["left"] > b["right"],
                        "above": a["bottom"] < b["top"], "below": a["top"] > b["bottom"]}
            assert expected[relation], (references[0], a, b)
            checked_two += 1
        else:
            size, colour, shape, where = ONE.match(references[0]).groups()
            assert set(masks) == {colour}
            found = _measure(masks[colour])
            assert (found["shape"], found["size"]) == (shape, size)
            column = ("left", "", "right")[int(found["x"] // (64 / 3))]
            row = ("top", "", "bottom")[int(found["y"] // (64 / 3))]
            assert where == {("", ""): "in the middle", ("top", ""): "at the top", ("bottom", ""): "at the bottom",
                             ("", "left"): "on the left", ("", "right"): "on the right"}.get(
                (row, column), f"at the {row} {column}")
            checked_one += 1
    assert checked_two > 30 and checked_one > 30


def test_centre_pixel_has_the_caption_colour_and_relations_follow_positions():
    objects = scenes.generate_scene_objects(60, PLAIN)
    images, captions = scenes.generate_scenes(60, PLAIN)
    for scene, image, references in zip(objects, images, captions):
        for obj in scene:
            centre = image[int(obj.y * 64), int(obj.x * 64)]
            assert tuple(centre) == scenes.COLOURS[obj.colour]
            assert obj.phrase() in references[0]
        if len(scene) == 2:
            first, second = scene
            horizontal = abs(first.x - second.x) > abs(first.y - second.y)
            said = TWO.match(references[0]).group(4)
            if horizontal:
                assert said == ("to the left of" if first.x < second.x else "to the right of")
            else:
                assert said == ("above" if first.y < second.y else "below")


def test_describe_hand_made_scenes():
    circle = scenes.SceneObject("circle", "red", "large", x=0.2, y=0.5)
    square = scenes.SceneObject("square", "blue", "small", x=0.8, y=0.5)
    assert scenes.describe([circle, square]) == [
        "a large red circle to the left of a small blue square",
        "there is a large red circle to the left of a small blue square",
        "a large red circle is to the left of a small blue square",
        "a small blue square to the right of a large red circle",
        "there is a small blue square to the right of a large red circle",
        "a small blue square is to the right of a large red circle",
    ]
    triangle = scenes.SceneObject("triangle", "green", "small", x=0.5, y=0.15)
    assert scenes.describe([triangle]) == ["a small green triangle at the top",
                                           "there is a small green triangle at the top",
                                           "a small green triangle is at the top"]
    assert scenes.describe([triangle], position_words=False) == ["a small green triangle",
                                                                "there is a small green triangle"]
    above = scenes.SceneObject("triangle", "green", "small", x=0.8, y=0.15)
    assert scenes.describe([square, above])[0] == "a small blue square below a small green triangle"
    with pytest.raises(UserError) as error:
        scenes.describe([square, triangle])  # diagonal: both "right of" and "below" would be true
    assert str(error.value) == ("the objects at (0.80, 0.50) and (0.50, 0.15) are neither clearly side by side nor "
                                "one above the other; move them apart")


def test_render_draws_the_shapes_and_keeps_the_background():
    config = scenes.SceneConfig(image_size=32)
    objects = [scenes.SceneObject("diamond", "orange", "large", x=0.5, y=0.5)]
    image = scenes.render_scene(objects, config, np.random.default_rng(0))
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert tuple(image[16, 16]) == scenes.COLOURS["orange"]
    assert tuple(image[0, 0]) == (scenes.BACKGROUND_LEVEL,) * 3
    assert tuple(image[16 - 4, 16 + 4]) == (scenes.BACKGROUND_LEVEL,) * 3  # outside the diamond, inside its box


def test_unseen_configurations_differ():
    base_objects = scenes.generate_scene_objects(40, scenes.SceneConfig(jitter=0.0))
    centres = {round(value * 6, 6) for scene in base_objects for obj in scene for value in (obj.x, obj.y)}
    assert centres <= {1.0, 3.0, 5.0}  # grid cell centres, in sixths of the side
    jittered = scenes.generate_scene_objects(40, scenes.SceneConfig(jitter=0.5))
    assert not {round(obj.x * 6, 6) for scene in jittered for obj in scene} <= {1.0, 3.0, 5.0}
    noisy, _ = scenes.generate_scenes(10, scenes.SceneConfig(background="noisy"))
    plain, _ = scenes.generate_scenes(10, scenes.SceneConfig())
    assert len(np.unique(noisy[0].reshape(-1, 3), axis=0)) > 100
    assert len(np.unique(plain[0].reshape(-1, 3), axis=0)) <= 3  # background and at most two colours
    shapes = scenes.SceneConfig(shapes=("diamond", "cross"), colours=("white", "pink"), min_objects=2, seed=9)
    _, captions = scenes.generate_scenes(20, shapes)
    words = {word for references in captions for caption in references for word in caption.split()}
    assert {"diamond", "cross", "white", "pink"} <= words and not words & {"circle", "red"}
    assert all(len(references) == 6 for references in captions)


@pytest.mark.parametrize("settings, message", [
    (dict(image_size=8), "scene.image_size = 8: expected a whole number of pixels from 32 to 1024"),
    (dict(max_objects=3), "scene.max_objects = 3: expected 1 or 2, at least min_objects (1)"),
    (dict(min_objects=2, max_objects=1), "scene.max_objects = 1: expected 1 or 2, at least min_objects (2)"),
    (dict(colours=("red", "teal")), "scene.colours = ('red', 'teal'): expected words from red, green, blue, yellow, "
                                    "purple, orange, white, black, cyan, pink, brown ('teal' is not one)"),
    (dict(shapes=()), "scene.shapes = (): expected a non-empty list of words from circle, square, triangle, diamond, "
                      "cross"),
    (dict(background="foggy"), "scene.background = 'foggy': expected 'plain' or 'noisy'"),
    (dict(jitter=0.9), "scene.jitter = 0.9: expected a number from 0 to 0.5"),
    (dict(noise=-1.0), "scene.noise = -1.0: expected a share of 255 from 0 to 0.2"),
    (dict(shapes=("circle",), colours=("red",), sizes=("small",)),
     "scene.shapes = ('circle',): expected with colours and sizes, at least two different objects for two-object "
     "scenes"),
])
def test_settings_are_validated(settings, message):
    with pytest.raises(UserError) as error:
        scenes.SceneConfig(**settings)
    assert str(error.value) == message


def test_write_scenes_layout(tmp_path):
    path = scenes.write_scenes(tmp_path / "toy", 3, scenes.SceneConfig(seed=5))
    assert path == tmp_path / "toy" / "captions.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    _, captions = scenes.generate_scenes(3, scenes.SceneConfig(seed=5))
    assert lines[0] == "image\tcaption"
    assert lines[1:] == [f"images/scene_{i:05d}.png\t{caption}" for i, references in enumerate(captions)
                         for caption in references]
    assert sorted(p.name for p in (tmp_path / "toy" / "images").iterdir()) == [f"scene_{i:05d}.png" for i in range(3)]
    assert (tmp_path / "toy" / "images" / "scene_00000.png").read_bytes().startswith(b"\x89PNG")
