"""RecurrentLanguageModel: one token at a time (`decoding_step`) computes what the whole-sequence pass computes,
for every cell kind, stacked; states carry across calls and, when stateful, across training batches;
reserved ids are never generated; `start_decoding` primes the state as the serving module used to by hand;
configs and saved models round-trip; `build_model` follows the recipe."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnapps import config, decoding
from rnnapps.pipelines.generate import recipe as recipes
from rnnapps.pipelines.generate.model import RecurrentLanguageModel, build_model

VOCAB = 12


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_step_by_step_equals_the_whole_sequence(cell):
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell=cell, units=8, num_layers=2)
    ids = np.random.default_rng(0).integers(4, VOCAB, size=(3, 7)).astype("int32")
    whole = ops.convert_to_numpy(model(ids))
    assert whole.shape == (3, 7, VOCAB)
    states = model.flatten_states(model.zero_states(3))
    assert len(states) == (4 if cell == "lstm" else 2)
    for position in range(7):
        logits, states, attention = model.decoding_step(ids[:, position], states)
        logits = ops.convert_to_numpy(logits)
        assert attention is None
        np.testing.assert_allclose(logits[:, 4:], whole[:, position, 4:], atol=1e-5)
        assert (logits[:, :4] < -1e8).all()  # padding, unknown, start and end are never generated


def test_run_continues_from_the_states_it_returned():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="lstm", units=8, num_layers=2)
    ids = np.random.default_rng(1).integers(4, VOCAB, size=(2, 10)).astype("int32")
    whole, _ = model.run(ids)
    first, states = model.run(ids[:, :4])
    second, _ = model.run(ids[:, 4:], states)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.concatenate([first, second], axis=1)),
                               ops.convert_to_numpy(whole), atol=1e-5)


def test_padding_leaves_the_state_unchanged():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="gru", units=8, num_layers=1)
    _, plain = model.run(np.array([[5, 6, 7]], "int32"))
    _, padded = model.run(np.array([[5, 6, 7, 0, 0]], "int32"))
    np.testing.assert_allclose(ops.convert_to_numpy(padded[0]), ops.convert_to_numpy(plain[0]), atol=1e-6)


def test_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        RecurrentLanguageModel(VOCAB, cell="transformer")


def test_stateful_training_carries_the_state_between_batches_and_resets():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="lstm", units=8, num_layers=2, stateful_batch_size=2)
    ids = np.random.default_rng(2).integers(4, VOCAB, size=(2, 10)).astype("int32")
    whole, _ = model.run(ids)
    first = model(ids[:, :5], training=True)  # no dropout configured: training only switches statefulness
    second = model(ids[:, 5:], training=True)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.concatenate([first, second], axis=1)),
                               ops.convert_to_numpy(whole), atol=1e-5)
    # Inference never uses (or changes) the carried states.
    np.testing.assert_allclose(ops.convert_to_numpy(model(ids[:, :5])), ops.convert_to_numpy(first), atol=1e-6)
    model.reset_states()
    again = model(ids[:, :5], training=True)
    np.testing.assert_allclose(ops.convert_to_numpy(again), ops.convert_to_numpy(first), atol=1e-6)
    assert len(model.carried_states) == 4 and not any(v.trainable for v in model.carried_states)


# --------------------------------------------------------------------------- the decoding contract


def _primed_by_hand(model, prompt_ids):
    """What the generation serving module did before the decoding contract: the prompt without its last token
    primes the state (padding leaves a state unchanged) and the last token is the first input."""
    lengths = (prompt_ids != 0).sum(axis=1)
    last = prompt_ids[np.arange(len(prompt_ids)), np.maximum(lengths - 1, 0)]
    is_last = np.arange(prompt_ids.shape[1])[None, :] >= (lengths - 1)[:, None]
    _, states = model.run(np.where(is_last, 0, prompt_ids), training=False)
    return model.flatten_states(states), last


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_start_decoding_primes_the_state_with_the_prompt_but_its_last_token(cell):
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell=cell, units=8, num_layers=2)
    prompts = np.array([[5, 6, 7, 8], [9, 0, 0, 0], [4, 11, 0, 0]], "int32")  # right-padded, lengths 4, 1, 2
    start = model.start_decoding(prompts)
    states, last = _primed_by_hand(model, prompts)
    assert start.context == () and start.memory_length is None and int(start.batch_size) == 3
    np.testing.assert_array_equal(ops.convert_to_numpy(start.start_ids), [8, 9, 11])
    np.testing.assert_array_equal(ops.convert_to_numpy(start.start_ids), last)
    assert len(start.state) == len(states)
    for primed, expected in zip(start.state, states):
        np.testing.assert_allclose(ops.convert_to_numpy(primed), ops.convert_to_numpy(expected), atol=1e-6)
    # The first row's state is the state after reading its first three tokens.
    _, read = model.run(prompts[:1, :3])
    np.testing.assert_allclose(ops.convert_to_numpy(start.state[0][:1]),
                               ops.convert_to_numpy(model.flatten_states(read)[0]), atol=1e-6)


def test_decode_samples_the_same_text_as_the_loop_primed_by_hand():
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="lstm", units=8, num_layers=1)
    prompts = np.array([[5, 6, 7], [9, 10, 0]], "int32")
    uniforms = keras.random.uniform((15, 2), seed=3)
    for strategy in (decoding.Sampling(0.9), decoding.Sampling(1.3, top_k=3, top_p=0.8)):
        result = decoding.decode(model, prompts, strategy, 15, uniforms=uniforms)
        states, last = _primed_by_hand(model, prompts)
        expected = decoding.sample(model.decoding_step, states, (), 2, 15, uniforms=uniforms,
                                   temperature=strategy.temperature, top_k=strategy.top_k, top_p=strategy.top_p,
                                   start_ids=last)
        np.testing.assert_array_equal(ops.convert_to_numpy(result.ids), ops.convert_to_numpy(expected.ids))
        assert (ops.convert_to_numpy(result.ids) >= 4).all()  # no reserved id, so no end: all 15 tokens
    assert isinstance(model, decoding.Decodable)


# --------------------------------------------------------------------------- config and saving


@pytest.mark.parametrize("stateful_batch_size", [0, 2])
def test_config_and_save_load_round_trips(tmp_path, stateful_batch_size):
    model = RecurrentLanguageModel(VOCAB, embedding_dim=6, cell="gru", units=8, num_layers=2, dropout_rate=0.1,
                                   embedding_dropout_rate=0.05, stateful_batch_size=stateful_batch_size,
                                   name="language_model")
    ids = np.random.default_rng(3).integers(4, VOCAB, size=(2, 5)).astype("int32")
    expected = ops.convert_to_numpy(model(ids))
    model_config = model.get_config()
    assert {key: model_config[key] for key in ("vocab_size", "embedding_dim", "cell", "units", "num_layers",
                                         "dropout_rate", "embedding_dropout_rate", "recurrent_dropout_rate",
                                         "stateful_batch_size")} == {
        "vocab_size": VOCAB, "embedding_dim": 6, "cell": "gru", "units": 8, "num_layers": 2, "dropout_rate": 0.1,
        "embedding_dropout_rate": 0.05, "recurrent_dropout_rate": 0.0, "stateful_batch_size": stateful_batch_size}
    rebuilt = RecurrentLanguageModel.from_config(model_config)
    assert rebuilt.get_config() == model_config
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    assert type(loaded) is RecurrentLanguageModel and loaded.get_config() == model_config
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(ids)), expected, atol=1e-6)
    assert len(loaded.carried_states) == (2 if stateful_batch_size else 0)


def test_the_registered_name_is_unchanged_so_old_bundles_load():
    assert keras.saving.get_registered_name(RecurrentLanguageModel) == "rnnapps>RecurrentLanguageModel"
    assert keras.saving.get_registered_object("rnnapps>RecurrentLanguageModel") is RecurrentLanguageModel


def test_build_model_follows_the_recipe():
    recipe = config.load_recipe(recipes.GenerateRecipe, None, [
        'decoder.cell="gru"', "decoder.units=12", "decoder.num_layers=3", "decoder.dropout_rate=0.3",
        "embedding.dim=5", "embedding.dropout_rate=0.1", "model.stateful=true", "training.batch_size=4"])
    model = build_model(recipe, 20)
    assert model.name == "language_model"
    assert (model.vocab_size, model.embedding_dim, model.cell, model.units, model.num_layers) == (20, 5, "gru", 12, 3)
    assert (model.dropout_rate, model.embedding_dropout_rate, model.stateful_batch_size) == (0.3, 0.1, 4)
    assert build_model(recipes.GenerateRecipe(), 20).stateful_batch_size == 0  # not stateful by default
