"""The generation serving module samples through the model's decoding contract and writes, seed for seed, the
text that the module priming the state by hand wrote before; its tensor inputs are checked in graph."""

import numpy as np
import pytest
import tensorflow as tf

from rnnapps import decoding, sections, tokenizers
from rnnapps.pipelines.generate import preprocess, serving
from rnnapps.pipelines.generate.model import RecurrentLanguageModel

TEXT = "ROMEO:\nwhere is my house?\n\nNURSE:\ni see thee.\n" * 5


@pytest.fixture(scope="module")
def module():
    tokenizer = tokenizers.fit([TEXT], sections.TokenizerConfig(kind="char", vocab_size=1000, lowercase=False))
    model = RecurrentLanguageModel(tokenizer.vocab_size, embedding_dim=8, cell="lstm", units=16, num_layers=2)
    model(np.ones((1, 3), "int32"))  # random weights: enough to compare two ways of sampling
    return serving.TextGeneratorServing(preprocess.GeneratePreprocessor(tokenizer), model, max_length=100)


def _sampled_as_before(module, prompt, length, temperature, top_k, top_p, seed):
    """The serving module's sampling before the decoding contract (priming the state by hand with model.run,
    then `decoding.sample` with the model's step), for comparison; in graph, as it ran there."""
    model, tokenizer = module.model, module.tokenizer
    read = tf.where(tf.strings.length(prompt) > 0, prompt, module.preprocessor.empty_prompt)
    ids = tokenizers.encode_batch(tokenizer, read, preprocess.MAX_PROMPT_LENGTH, keep="end")
    lengths = tf.reduce_sum(tf.cast(ids != tokenizers.PAD_ID, tf.int32), axis=1)
    last = tf.gather(ids, tf.maximum(lengths - 1, 0), batch_dims=1)
    is_last = tf.range(tf.shape(ids)[1])[tf.newaxis, :] >= (lengths - 1)[:, tf.newaxis]
    _, states = model.run(tf.where(is_last, tokenizers.PAD_ID, ids), training=False)
    batch = tf.shape(ids)[0]
    uniforms = tf.random.stateless_uniform([length, batch], seed=tf.stack([tf.cast(seed, tf.int64), 0]))
    result = decoding.sample(model.decoding_step, model.flatten_states(states), (), batch, length, uniforms=uniforms,
                             temperature=temperature, top_k=top_k, top_p=top_p, start_ids=last)
    return tokenizer.detokenize(result.ids)


def test_same_seed_same_text_as_before(module):
    prompts = tf.constant(["", "ROMEO:\n", "☃ unseen", "the " * 10])
    before = tf.function(lambda *args: _sampled_as_before(module, *args))  # one trace: every argument is a tensor
    for temperature, top_k, top_p, seed in [(0.8, 0, 1.0, 1), (1.3, 5, 0.9, 21), (0.5, 1, 1.0, 4)]:
        arguments = (tf.constant(30), tf.constant(temperature), tf.constant(top_k), tf.constant(top_p),
                     tf.constant(seed, tf.int64))
        out = module.generate_batch(prompts, *arguments)
        assert out["generated"].numpy().tolist() == before(prompts, *arguments).numpy().tolist()
        assert [len(text.decode("utf-8")) for text in out["generated"].numpy()] == [30] * 4
        assert [t.decode("utf-8") for t in out["text"].numpy()] == [
            p.decode("utf-8") + g.decode("utf-8") for p, g in zip(prompts.numpy(), out["generated"].numpy())]


def test_a_length_out_of_bounds_and_bad_tensor_settings_fail_in_graph(module):
    out = module.generate(tf.constant(["ROMEO:"]), tf.constant(100), tf.constant(0.8), tf.constant(3, tf.int64))
    assert len(out["generated"].numpy()[0].decode("utf-8")) == 100  # max_length is allowed
    for length, message in [(101, "length must be at most 100 "), (-4, "length must be >= 0")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            module.generate(tf.constant(["a"]), tf.constant(length), tf.constant(0.8), tf.constant(3, tf.int64))
    for settings, message in [((0.0, 0, 1.0), "temperature must be > 0"), ((1.0, -1, 1.0), "top_k must be >= 0"),
                              ((1.0, 0, 0.0), "top_p must be in"), ((1.0, 0, 1.5), "top_p must be in")]:
        temperature, top_k, top_p = settings
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            module.generate_filtered(tf.constant(["a"]), tf.constant(5), tf.constant(temperature), tf.constant(top_k),
                                     tf.constant(top_p), tf.constant(1, tf.int64))


def test_a_sample_ends_where_it_first_writes_stop_at(module):
    prompts = ["ROMEO:", "", "NURSE:\n"]
    settings = (tf.constant(100), tf.constant(1.5), tf.constant(5, tf.int64))
    whole = [text.decode("utf-8") for text in module.generate(tf.constant(prompts), *settings)["generated"].numpy()]
    stop_at = whole[0][40:42]  # two characters the (hot, untrained) model is sure to write
    stopping = serving.TextGeneratorServing(module.preprocessor, module.model, max_length=100, stop_at=stop_at)
    cut = [text.decode("utf-8") for text in stopping.generate(tf.constant(prompts), *settings)["generated"].numpy()]
    # The same sample, up to the stop; a stop may begin with the prompt's last character.
    assert cut == [(prompt[-1:] + text).split(stop_at)[0][len(prompt[-1:]):] for prompt, text in zip(prompts, whole)]
    assert len(cut[0]) <= 40 < len(whole[0])


def test_a_stop_may_begin_in_the_prompt(module):
    stopping = serving.TextGeneratorServing(module.preprocessor, module.model, max_length=100, stop_at="\n\n")
    cut = stopping.cut_at_stop(tf.constant(["abc\n", "abc", "", "é\n", "x"]),
                               tf.constant(["\nrest", "de\n\nf", "q\n\n", "ü\n\nz", "no stop"]))
    assert [text.decode("utf-8") for text in cut.numpy()] == ["", "de", "q", "ü", "no stop"]
