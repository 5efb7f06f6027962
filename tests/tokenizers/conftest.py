"""Fixtures for the tokenizer tests."""

import pytest
import tensorflow as tf


@pytest.fixture
def saved_and_loaded():
    """Save a tf.Module holding a tokenizer as a SavedModel and load it back with plain TensorFlow.

    Returns a function (tokenizer, directory) -> loaded module with `tokenize(texts [batch]) -> ids
    [batch, time]` (dense, padded with 0) and `detokenize(ids [batch, time]) -> texts [batch]`.
    """

    def save_and_load(tokenizer, directory):
        module = tf.Module()
        module.tokenizer = tokenizer
        module.tokenize = tf.function(lambda texts: tokenizer.tokenize(texts).to_tensor(),
                                      input_signature=[tf.TensorSpec([None], tf.string)])
        module.detokenize = tf.function(tokenizer.detokenize, input_signature=[tf.TensorSpec([None, None], tf.int32)])
        tf.saved_model.save(module, str(directory))
        return tf.saved_model.load(str(directory))

    return save_and_load
