"""The pretraining language model: shapes, a sampled softmax that learns, and weights that transfer into a
sentiment classifier so that its encoder reads exactly as the language model's stacks did."""

import keras
import numpy as np
import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.sentiment import model as sentiment_model
from rnnapps.pipelines.sentiment import recipe as sentiment_recipe
from rnnapps.pretraining import model as models
from rnnapps.pretraining import transfer


def language_model(bidirectional=True, cell="gru", units=8, num_layers=1, vocab_size=40, dim=6, num_sampled=20):
    model = models.EncoderLanguageModel(vocab_size, dim, cell=cell, units=units, num_layers=num_layers,
                                        bidirectional=bidirectional, num_sampled=num_sampled, seed=1)
    model(np.ones((1, 5), np.int32))
    return model


def test_losses_have_one_value_per_read_word():
    model = language_model()
    losses = model(np.random.default_rng(0).integers(1, 40, size=(3, 12)))
    assert tuple(losses.shape) == (3, 10)
    assert np.all(np.isfinite(losses)) and np.all(np.asarray(losses) > 0)


def test_sampled_softmax_learns_a_predictable_sequence():
    # A cycle of 9 words: the next and the previous word are certain, so both directions' losses can fall
    # far below a uniform guess over the vocabulary (log 40 = 3.7).
    keras.utils.set_random_seed(0)
    stream = np.tile(np.arange(4, 13), 400)
    windows = np.stack([stream[start:start + 14] for start in range(0, len(stream) - 14, 3)])
    model = language_model(vocab_size=40, units=16, dim=8, num_sampled=16)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=models.mean_token_loss)
    untrained = model.evaluate(windows, np.zeros(len(windows)), verbose=0)
    history = model.fit(windows, np.zeros(len(windows)), epochs=8, batch_size=32, verbose=0)
    assert untrained > 1.5 and history.history["loss"][-1] < 0.1, (untrained, history.history["loss"])


def test_weights_transfer_into_the_classifier_and_read_the_same():
    lm = language_model(bidirectional=True, units=8, dim=6, vocab_size=40)
    recipe = sentiment_recipe.SentimentRecipe()
    recipe = type(recipe)(embedding=type(recipe.embedding)(dim=6),
                          encoder=type(recipe.encoder)(cell="gru", units=8, bidirectional=True))
    classifier = sentiment_model.build_model(recipe, vocab_size=40, num_classes=2)
    copied = transfer.transfer(lm, classifier.get_layer("token_embedding"), classifier.get_layer("encoder"))
    assert copied == ["token_embedding", "bidirectional_0 (forward, backward)"]
    ids = np.random.default_rng(1).integers(1, 40, size=(2, 7)).astype("int32")
    words = lm.token_embedding(ids)
    expected = np.concatenate([lm._read("forward", words, False), lm._read("backward", words, False)], axis=-1)
    read = classifier.get_layer("encoder")(classifier.get_layer("token_embedding")(ids))
    np.testing.assert_allclose(read, expected, atol=1e-5)


def test_a_unidirectional_stack_transfers_every_layer():
    lm = language_model(bidirectional=False, cell="lstm", num_layers=2)
    recipe = sentiment_recipe.SentimentRecipe()
    recipe = type(recipe)(embedding=type(recipe.embedding)(dim=6),
                          encoder=type(recipe.encoder)(cell="lstm", units=8, num_layers=2, bidirectional=False))
    classifier = sentiment_model.build_model(recipe, vocab_size=40, num_classes=2)
    copied = transfer.transfer(lm, classifier.get_layer("token_embedding"), classifier.get_layer("encoder"))
    assert copied == ["token_embedding", "lstm_0 (forward)", "lstm_1 (forward)"]


def test_sizes_that_differ_are_a_clear_error():
    lm = language_model(units=8)
    recipe = sentiment_recipe.SentimentRecipe()
    wide = type(recipe)(embedding=type(recipe.embedding)(dim=6), encoder=type(recipe.encoder)(units=16))
    classifier = sentiment_model.build_model(wide, vocab_size=40, num_classes=2)
    with pytest.raises(UserError, match="pretrained encoder is a gru-8 bidirectional stack, the recipe's"):
        transfer.transfer(lm, classifier.get_layer("token_embedding"), classifier.get_layer("encoder"))
    other_vocabulary = sentiment_model.build_model(wide, vocab_size=41, num_classes=2)
    with pytest.raises(UserError, match=r"the embedding .*\(40, 6\), the model's \(41, 6\)"):
        transfer.transfer(lm, other_vocabulary.get_layer("token_embedding"), None, "embedding")


def test_a_closed_gate_freezes_what_comes_before_it_until_it_opens():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(4, name="before")(inputs)
    output = keras.layers.Dense(1, name="after")(transfer.GradientGate(name="gate")(hidden))
    model = keras.Model(inputs, output)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    x, y = np.random.default_rng(0).normal(size=(64, 4)), np.random.default_rng(1).normal(size=(64, 1))
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (model.get_layer("before").get_weights()[0].copy(), model.get_layer("after").get_weights()[0].copy())))
    start = (model.get_layer("before").get_weights()[0].copy(), model.get_layer("after").get_weights()[0].copy())
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[transfer.UnfreezeAfter(2), record])
    np.testing.assert_array_equal(seen[0][0], start[0])      # epoch 1: frozen
    np.testing.assert_array_equal(seen[1][0], start[0])      # epoch 2: frozen
    assert not np.array_equal(seen[2][0], start[0])          # epoch 3: fine-tuned
    assert not np.array_equal(seen[0][1], start[1])          # the layer after the gate learns all along
