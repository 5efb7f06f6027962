"""The sentiment classifier: token embedding, the recurrent `[encoder]` stack, pooling over time and a softmax
head. A functional Keras model of shared layers only (backend-agnostic: no TensorFlow here)."""

from __future__ import annotations

import keras
import numpy as np

from rnnapps import adversarial, embeddings, layers
from rnnapps.pipelines.sentiment import recipe as recipes
from rnnapps.pretraining import transfer


def build_model(recipe: recipes.SentimentRecipe, vocab_size: int, num_classes: int,
                initial_embeddings: np.ndarray | None = None, gradient_gate: str = "") -> keras.Model:
    """The classifier: ids [batch, time] int32 -> class probabilities [batch, num_classes] float32.

    Args:
        recipe: the recipe (its embedding, encoder and head sections).
        vocab_size: token ids the embedding reads (reserved ids included).
        num_classes: labels the head scores.
        initial_embeddings: float [vocab_size, embedding.dim] pretrained rows, or None for random ones.
        gradient_gate: "embedding" or "encoder" puts a `GradientGate` (named "pretrained_gate") after that
            layer, so that it and what comes before it can be frozen for the first epochs; "" = none.

    Returns:
        The uncompiled `keras.Model` named "sentiment_classifier"; padding (id 0) is masked. With
        `recipe.adversarial.epsilon` it trains adversarially (`rnnapps.adversarial`).

    Example:
        model = build_model(SentimentRecipe(), vocab_size=500, num_classes=2)
        probabilities = model(np.array([[5, 9, 2, 0]]))  # [1, 2]
    """
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = embeddings.TokenEmbedding(
        vocab_size, recipe.embedding.dim, dropout_rate=recipe.embedding.dropout_rate,
        trainable_embeddings=recipe.embedding.trainable, initial_matrix=initial_embeddings, name="token_embedding",
    )(ids)
    if recipe.adversarial.epsilon:
        x = adversarial.EmbeddingPerturbation(name="embedding_perturbation")(x)
    if gradient_gate == "embedding":
        x = transfer.GradientGate(name="pretrained_gate")(x)
    encoder = recipe.encoder
    # With "last" pooling the recurrent stack returns its final state itself; otherwise every step is pooled.
    pooled_by_rnn = recipe.head.pooling == "last"
    x = layers.RecurrentStack(
        encoder.cell, encoder.units, encoder.num_layers, encoder.bidirectional, encoder.dropout_rate,
        encoder.recurrent_dropout_rate, return_sequences=not pooled_by_rnn, name="encoder",
    )(x)
    if gradient_gate == "encoder":
        x = transfer.GradientGate(name="pretrained_gate")(x)
    if not pooled_by_rnn:
        x = layers.SequencePooling(recipe.head.pooling, name="pooling")(x)
    x = keras.layers.Dropout(recipe.head.dropout_rate)(x)
    if recipe.head.hidden_units:
        x = keras.layers.Dense(recipe.head.hidden_units, activation="relu", name="hidden")(x)
        x = keras.layers.Dropout(recipe.head.dropout_rate)(x)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="classes")(x)
    model = keras.Model(ids, probabilities, name="sentiment_classifier")
    if recipe.adversarial.epsilon:
        adversarial.train_adversarially(model, recipe.adversarial.epsilon)
    return model
