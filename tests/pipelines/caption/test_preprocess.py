"""The captioning preprocessor: the drop rule and teacher-forcing targets, image bytes decoded in graph as
in Python, ids back to captions, and the same preprocessor again from a bundle."""

import numpy as np
import pytest

from rnnapps import bundle as bundles
from rnnapps.datasets import images
from rnnapps.errors import UserError
from rnnapps.pipelines.caption import data, preprocess, recipe, scenes
from rnnapps.special_tokens import END_ID, PAD_ID, START_ID

tf = pytest.importorskip("tensorflow")

CAPTIONS = ["a red circle", "a large blue square on the left", "", "a green triangle"]


@pytest.fixture
def fitted(tmp_path):
    settings = recipe.CaptionRecipe(data=data.CaptionDataConfig(max_caption_length=5),
                                    encoder=recipe.ImageEncoderConfig(image_size=16))
    examples = data.CaptionedImages([b"x"] * 4, [[c] for c in CAPTIONS], [f"i{i}" for i in range(4)])
    splits = data.CaptionSplits(examples, examples.subset([]), examples.subset([]))
    return settings, preprocess.CaptionPreprocessor.fit(settings, splits, tmp_path)


def test_fit_saves_the_caption_tokenizer_and_builds_no_encoder_for_a_trainable_one(fitted, tmp_path):
    settings, preprocessor = fitted
    assert set(preprocessor.tokenizers) == {"caption"} and (tmp_path / "tokenizer" / "tokenizer.json").is_file()
    assert preprocessor.feature_encoder is None and preprocessor.image_size == 16 and preprocessor.metadata == {}


def test_targets_drop_empty_and_long_captions_and_teacher_force(fitted):
    _, preprocessor = fitted
    kept, decoder_in, target = preprocessor.training_targets(CAPTIONS, "train")
    # 3, 7, 0 and 3 tokens: the 7-token caption is at least max_caption_length = 5, the empty one is empty.
    assert kept.tolist() == [True, False, False, True]
    ids = preprocessor.tokenizer.tokenize_python(["a red circle", "a green triangle"])
    assert decoder_in.to_list() == [[START_ID, *row] for row in ids]
    assert target.to_list() == [[*row, END_ID] for row in ids]
    with pytest.raises(UserError, match=r"no validation captions are left; raise data.max_caption_length \(now 5\)"):
        preprocessor.training_targets([CAPTIONS[1]], "validation")


def test_images_decode_in_graph_as_in_python_and_ids_become_captions(fitted):
    _, preprocessor = fitted
    pictures, _ = scenes.generate_scenes(2, scenes.SceneConfig(image_size=40, max_objects=1))
    blobs = [images.encode_png(picture) for picture in pictures]
    in_graph = tf.function(preprocessor.decode_images)(tf.constant(blobs)).numpy()
    assert in_graph.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(in_graph, preprocessor.load_pixels(blobs), atol=1e-6)
    ids = preprocessor.tokenizer.tokenize_python(["a green triangle"])[0]
    padded = tf.constant([[*ids, END_ID, PAD_ID]], tf.int32)
    assert preprocessor.captions(padded).numpy().tolist() == [b"a green triangle"]
    assert preprocessor.words([*ids, END_ID, PAD_ID]) == ["a", "green", "triangle", "<end>"]


def test_from_bundle_gives_the_same_preprocessing(fitted, tmp_path):
    settings, preprocessor = fitted
    loaded = bundles.Bundle(tmp_path, {}, {}, None, {"caption": preprocessor.tokenizer}, {})
    again = preprocess.CaptionPreprocessor.from_bundle(settings, loaded)
    assert (again.image_size, again.max_caption_length, again.feature_encoder) == (16, 5, None)
    assert [t.to_list() for t in again.training_targets(CAPTIONS, "train")[1:]] == [
        t.to_list() for t in preprocessor.training_targets(CAPTIONS, "train")[1:]]
