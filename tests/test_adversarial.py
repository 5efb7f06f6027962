"""Adversarial training on word embeddings (`rnnapps.adversarial`): on TensorFlow and on JAX a step trains on
the clean batch and on the perturbed one, reports the clean loss, and a toy task is still learnt; the
perturbation has the asked size and raises the loss; the layer leaves a saved model's answers unchanged."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps import adversarial

SCRIPT = textwrap.dedent(r'''
    import json
    import keras
    import numpy as np

    from rnnapps import adversarial, embeddings, layers

    def toy_classifier(epsilon):
        """Token ids [batch, 12] -> 2 classes; the class is whether the first word's id is above 25."""
        keras.utils.set_random_seed(0)
        ids = keras.Input(shape=(None,), dtype="int32")
        x = embeddings.TokenEmbedding(50, 8, name="token_embedding")(ids)
        x = adversarial.EmbeddingPerturbation(name="embedding_perturbation")(x)
        x = layers.RecurrentStack("gru", 8, 1, True, 0.0, 0.0, return_sequences=False, name="encoder")(x)
        model = keras.Model(ids, keras.layers.Dense(2, activation="softmax")(x))
        if epsilon:
            adversarial.train_adversarially(model, epsilon)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, size=(256, 12)).astype("int32")
    ids[:, 8:] = 0  # padding
    labels = (ids[:, 0] > 25).astype("int32")
    first_steps = {}
    for epsilon in (0.0, 0.05):
        model = toy_classifier(epsilon)
        loss = model.train_on_batch(ids[:32], labels[:32], return_dict=True)["loss"]
        first_steps[epsilon] = (loss, np.concatenate([w.ravel() for w in model.get_weights()]))
    learnt = toy_classifier(0.05)
    learnt.fit(ids, labels, epochs=12, batch_size=32, verbose=0)
    print(json.dumps({
        "backend": keras.backend.backend(),
        "clean_loss": first_steps[0.0][0], "adversarial_step_loss": first_steps[0.05][0],
        "weights_moved_apart": float(np.abs(first_steps[0.0][1] - first_steps[0.05][1]).max()),
        "accuracy": float(learnt.evaluate(ids, labels, verbose=0, return_dict=True)["accuracy"]),
    }))
''')


@pytest.mark.parametrize("backend", ["tensorflow", pytest.param("jax", marks=pytest.mark.slow)])
def test_a_step_trains_on_both_batches_reports_the_clean_loss_and_learns(backend):
    if backend == "jax":
        pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == backend
    # The same weights and batch: the step reports the clean batch's loss, and the perturbed batch's
    # gradients move the weights elsewhere than an ordinary step does.
    assert result["adversarial_step_loss"] == pytest.approx(result["clean_loss"], rel=1e-5)
    assert result["weights_moved_apart"] > 1e-4
    assert result["accuracy"] >= 0.95


def test_the_perturbation_has_the_asked_size_and_raises_the_loss():
    keras.utils.set_random_seed(1)
    embedded = tf.random.normal([4, 7, 5])
    target = tf.random.normal([4, 7, 5])
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        loss = tf.reduce_sum(tf.square(embedded - target))
    perturbation = adversarial._direction(tape.gradient(loss, embedded), epsilon=0.3)
    norms = np.sqrt(np.sum(np.square(perturbation), axis=(1, 2)))
    np.testing.assert_allclose(norms, 0.3, rtol=1e-5)
    random = tf.random.normal([4, 7, 5])
    random = 0.3 * random / tf.norm(random, axis=(1, 2), keepdims=True)
    raised = tf.reduce_sum(tf.square(embedded + perturbation - target)) - loss
    assert raised > 0 and raised > tf.reduce_sum(tf.square(embedded + random - target)) - loss


def test_the_layer_is_the_identity_outside_a_step_and_survives_saving(tmp_path):
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    x = adversarial.EmbeddingPerturbation(name="embedding_perturbation")(x)
    model = keras.Model(ids, keras.layers.GRU(3)(x))
    batch = np.array([[3, 4, 5, 0], [7, 0, 0, 0]])
    layer = model.get_layer("embedding_perturbation")
    clean = model.predict(batch, verbose=0)
    with layer.perturbed(np.ones([2, 4, 4], "float32")):
        moved = model(batch)
    assert not np.allclose(moved, clean)
    np.testing.assert_allclose(model.predict(batch, verbose=0), clean)
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "model.keras").predict(batch, verbose=0), clean,
                               rtol=1e-6)
