"""The captioning pipeline end to end on generated scenes: learns colour, size, shape and position,
beam search, bundle and SavedModel parity on raw image bytes, feature caching, odd and bad images, the
CLI, and a folder of photos captioned in Vietnamese trained from a recipe only."""

import json
import logging
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from rnnapps import cli
from rnnapps.datasets import images
from rnnapps.errors import UserError
from rnnapps.pipelines.caption import CaptionPipeline, scenes
from rnnapps.pipelines.caption import data as caption_data
from rnnapps.pipelines.caption import features as caption_features
from rnnapps.pipelines.caption import reader as caption_reader

tf = pytest.importorskip("tensorflow")


def fresh_scenes(count, seed=777, size=48):
    """Scenes the demo data does not contain: (PNG bytes, reference captions)."""
    pixels, references = scenes.generate_scenes(count, scenes.SceneConfig(image_size=size, max_objects=1, seed=seed))
    return [images.encode_png(p) for p in pixels], references


def huge_png(width=10_000, height=10_000):
    """A PNG whose header says width x height (only a header check can refuse it without decoding)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def run_cli(*args):
    return CliRunner().invoke(cli.cli, ["-q", *map(str, args)])


def test_learns_the_scenes(caption_run):
    pipeline = CaptionPipeline.from_bundle(caption_run)
    test = pipeline.metrics["test"]
    assert test["bleu_4"] >= 0.8 and test["bleu_1"] >= test["bleu_4"], test
    assert test["references_per_image"] == 3 and "nrefs:" in test["bleu_signature"]
    data, references = fresh_scenes(40)
    results = pipeline(data, beam_size=1)
    correct = sum(r["caption"] in refs for r, refs in zip(results, references))
    assert correct >= 30, [(r["caption"], refs[0]) for r, refs in zip(results, references)][:10]


def test_beam_search_is_not_worse_than_greedy(caption_run):
    pipeline = CaptionPipeline.from_bundle(caption_run)
    data, references = fresh_scenes(60, seed=31)
    examples = caption_data.CaptionedImages(data, references, [f"s{i}" for i in range(len(data))])
    greedy, beam = pipeline.score(examples, beam_size=1), pipeline.score(examples, beam_size=4)
    assert beam["bleu_4"] >= greedy["bleu_4"] - 0.02 and beam["beam_size"] == 4


def test_bundle_and_saved_model_caption_image_bytes_the_same_without_rnnapps(caption_run, tmp_path):
    pipeline = CaptionPipeline.from_bundle(caption_run)
    data, _ = fresh_scenes(4, seed=5)
    photo = tf.io.encode_jpeg(np.asarray(scenes.generate_scenes(1, scenes.SceneConfig(image_size=200))[0][0]),
                              quality=90).numpy()  # a larger JPEG, resized inside the graph
    data.append(photo)
    expected = [r["caption"] for r in pipeline(data)]
    greedy = [r["caption"] for r in pipeline(data, beam_size=1)]
    again = CaptionPipeline.from_bundle(caption_run / "bundle")
    assert [r["caption"] for r in again(data)] == expected
    files = []
    for index, blob in enumerate(data):
        files.append(tmp_path / f"image{index}.bin")
        files[-1].write_bytes(blob)
    saved = pipeline.export(tmp_path / "saved_model")
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["rnnapps"] = None
        import tensorflow as tf
        model = tf.saved_model.load({str(saved)!r})
        # The last input is no image at all: its caption is "".
        data = tf.constant([open(path, "rb").read() for path in {[str(f) for f in files]!r}] + [b""])
        beam = model.signatures["serving_default"](image_bytes=data)["caption"].numpy()
        greedy = model.signatures["caption_greedy"](image_bytes=data)["caption"].numpy()
        print(json.dumps([[c.decode() for c in beam], [c.decode() for c in greedy]]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [expected + [""], greedy + [""]]


def test_odd_images_get_captions_and_bad_ones_one_line_errors(caption_run, tmp_path):
    pipeline = CaptionPipeline.from_bundle(caption_run)
    scene = scenes.generate_scenes(1, scenes.SceneConfig(image_size=48, seed=3))[0][0]
    gray = images.encode_png(scene.mean(axis=-1, keepdims=True).astype(np.uint8))
    rgba = images.encode_png(np.concatenate([scene, np.full((48, 48, 1), 255, np.uint8)], axis=-1))
    one_pixel = images.encode_png(np.full((1, 1, 3), 200, np.uint8))
    results = pipeline([gray, rgba, one_pixel])
    assert len(results) == 3 and all(r["caption"] and isinstance(r["score"], float) for r in results)
    assert pipeline([]) == []
    jpeg = tf.io.encode_jpeg(scene, quality=90).numpy()
    bad = {"truncated.jpg": jpeg[: len(jpeg) // 2], "notes.jpg": b"a text file, not a picture\n",
           "huge.png": huge_png()}
    for name, blob in bad.items():
        (tmp_path / name).write_bytes(blob)
    for name, fragment in [("truncated.jpg", "truncated or corrupt"), ("notes.jpg", "is not a jpeg, png"),
                           ("huge.png", "megapixels"), ("missing.png", "no such image file")]:
        with pytest.raises(UserError) as error:
            pipeline(str(tmp_path / name))
        message = str(error.value)
        assert name in message and fragment in message.lower() and "\n" not in message, message
    with pytest.raises(UserError, match=r"the beam size \(--beam\) must be between 1 and 64"):
        pipeline(gray, beam_size=0)


def test_attention_maps_are_drawn_per_word(caption_run, tmp_path):
    pipeline = CaptionPipeline.from_bundle(caption_run)
    data, _ = fresh_scenes(1, seed=8)
    path = pipeline.plot_attention(data[0], tmp_path / "attention.png", beam_size=1)
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5000
    assert (caption_run / "bundle" / "attention.png").is_file()


def test_cli_predict_folder_evaluate_export_and_errors(caption_run, tmp_path):
    data, _ = fresh_scenes(3, seed=12)
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, blob in enumerate(data):
        (folder / f"photo{index}.png").write_bytes(blob)
    (folder / "readme.txt").write_text("not an image")
    result = run_cli("caption", "predict", folder, "--bundle", caption_run, "--json", "--beam", "2",
                     "--plot-attention", tmp_path / "att.png")
    assert result.exit_code == 0, result.output
    predictions = json.loads(result.stdout)
    assert [p["image"] for p in predictions] == [str(folder / f"photo{i}.png") for i in range(3)]
    assert (tmp_path / "att.png").is_file()
    plain = run_cli("caption", "predict", folder / "photo0.png", "--bundle", caption_run)
    assert plain.exit_code == 0 and plain.stdout.startswith(f"{folder / 'photo0.png'}\t")
    evaluated = run_cli("caption", "evaluate", "--bundle", caption_run, "--beam", "1", "--json")
    assert evaluated.exit_code == 0 and 0 < json.loads(evaluated.stdout)["bleu_4"] <= 1
    exported = run_cli("caption", "export", "--bundle", caption_run, "--out", tmp_path / "saved")
    assert exported.exit_code == 0 and (tmp_path / "saved" / "saved_model.pb").is_file()
    (tmp_path / "empty").mkdir()
    for args, fragment in [([folder / "readme.txt"], "is not a jpeg, png"), ([tmp_path / "empty"], "no images"),
                           ([tmp_path / "nothing.jpg"], "no such image file")]:
        bad = run_cli("caption", "predict", *args, "--bundle", caption_run)
        assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and fragment in bad.stderr.lower(), bad.output
        assert len(bad.stderr.strip().splitlines()) == 1


VIETNAMESE = {"red": "đỏ", "green": "xanh lá", "blue": "xanh dương", "yellow": "vàng", "purple": "tím",
              "orange": "cam", "circle": "hình tròn", "square": "hình vuông", "triangle": "hình tam giác",
              "small": "nhỏ", "large": "lớn"}


def vietnamese(obj):
    return f"một {VIETNAMESE[obj.shape]} màu {VIETNAMESE[obj.colour]} {VIETNAMESE[obj.size]}"


def test_a_folder_of_photos_captioned_in_vietnamese_trains_with_a_recipe_only(tmp_path):
    config = scenes.SceneConfig(image_size=40, max_objects=1, seed=4, jitter=0.0)
    objects = scenes.generate_scene_objects(500, config)
    pictures, _ = scenes.generate_scenes(500, config)
    photos = tmp_path / "ảnh"  # a folder name in Vietnamese too
    photos.mkdir()
    rows = ["image,caption"]
    for index, (picture, (obj,)) in enumerate(zip(pictures, objects)):
        name = f"photo_{index:03d}.jpg"
        (photos / name).write_bytes(tf.io.encode_jpeg(picture, quality=92).numpy())
        rows += [f"{name},{vietnamese(obj)}", f"{name},có {vietnamese(obj)}"]
    (photos / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(textwrap.dedent(f"""
        task = "caption"
        [data]
        source = "{photos / 'captions.csv'}"
        [encoder]
        image_size = 40
        filters = 32
        [decoder]
        embedding_dim = 32
        units = 64
        cell = "gru"
        input_feeding = true
        [training]
        epochs = 6
        batch_size = 32
        learning_rate = 0.004
        early_stopping_patience = 0
    """), encoding="utf-8")
    trained = run_cli("caption", "train", "--recipe", recipe, "--out", tmp_path / "run")
    assert trained.exit_code == 0, trained.output
    pipeline = CaptionPipeline.from_bundle(tmp_path / "run")
    test = pipeline.metrics["test"]
    assert test["bleu_1"] > 0.6 and test["bleu_4"] > 0.25, test  # an untrained model scores near 0
    predicted = pipeline([str(photos / f"photo_{i:03d}.jpg") for i in range(20)], beam_size=1)
    vocabulary = {word for phrase in VIETNAMESE.values() for word in phrase.split()} | {"một", "màu", "có"}
    assert all(p["caption"] and set(p["caption"].split()) <= vocabulary for p in predicted), predicted[:5]
    assert sum("màu" in p["caption"] for p in predicted) >= 15
    # Input feeding (on in this recipe) decodes the same in the SavedModel.
    saved = tf.saved_model.load(str(pipeline.export(tmp_path / "saved_model")))
    blobs = tf.constant([(photos / f"photo_{i:03d}.jpg").read_bytes() for i in range(20)])
    served = [c.decode() for c in saved.signatures["caption_greedy"](image_bytes=blobs)["caption"].numpy()]
    assert served == [p["caption"] for p in predicted]


def test_a_frozen_backbone_caches_features_once(tmp_path, caplog):
    overrides = ["encoder.backbone=\"mobilenet_v3_small\"", "encoder.trainable=false", "encoder.image_size=32",
                 "data.demo_count=60", "data.demo_image_size=32", "training.epochs=1", "decoder.units=16",
                 "decoder.embedding_dim=8", "decoding.beam_size=1", "decoder.input_feeding=true"]
    recipe = CaptionPipeline.load_recipe(cli.TASKS_DIR / "caption-demo.toml", overrides)
    with caplog.at_level(logging.INFO, logger="rnnapps"):
        first = CaptionPipeline.train(recipe, tmp_path / "run")
    assert "computing image features" in caplog.text
    cached = sorted(p.name for p in (tmp_path / "run" / "features").iterdir())
    assert [name.split("-")[0] for name in cached] == ["train", "validation"]
    # A second pass over the same images (a resumed run, evaluation) reads the cache, not the CNN.
    data = caption_reader.read_splits(recipe.data, recipe.seed)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rnnapps"):
        features = caption_features.cached_features(first.model.encoder, data.train, 32, tmp_path / "run" / "features",
                                           "train")
    assert "read from the cache" in caplog.text and "computing" not in caplog.text
    assert features.shape[:2] == (len(data.train), 1) and features.dtype == np.float16
    data, _ = fresh_scenes(2, size=32)
    again = CaptionPipeline.from_bundle(tmp_path / "run")
    assert again(data) == first(data)  # the bundle holds the backbone too: raw images in, captions out


@pytest.mark.parametrize("override, fragment", [
    ('encoder.backbone="vgg99"', "encoder.backbone = 'vgg99' is not one of small_cnn"),
    ("encoder.trainable=false", "freezes a small CNN that has never been trained"),
    ("decoding.beam_size=0", "decoding.beam_size = 0 must be"),
    ('data.source="demo:nothing"', "unknown demo dataset 'demo:nothing'"),
])
def test_bad_recipes_are_one_line_errors(override, fragment, tmp_path):
    result = run_cli("caption", "train", "--recipe", cli.TASKS_DIR / "caption-demo.toml", "--set", override,
                     "--out", tmp_path / "run")
    assert result.exit_code == 2 and fragment in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1
