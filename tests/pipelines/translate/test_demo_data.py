"""The generated translation demo data: deterministic, the promised sizes, and a target language whose
word order really differs from English."""

import collections
import hashlib

import pytest

from rnnapps.errors import UserError
from rnnapps.pipelines.translate import data as parallel
from rnnapps.pipelines.translate import demo_data


def fingerprint(*lists):
    return hashlib.sha256("\n".join(item for items in lists for item in items).encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def toy():
    return demo_data.translation_pairs()


def test_translation_pairs_are_deterministic(toy):
    sources, targets = toy
    assert fingerprint(sources, targets) == "cc483d480038307e87b57daa0e467cd956ac3ded6bce29c07070d50d4c30f226"
    assert list(zip(sources[:3], targets[:3])) == [
        ("a red teacher will eat a big girl .", "sefa ruba e lani gran e manu ."),
        ("a friend will not sleep .", "kamu e ne dormu ."),
        ("we will not see a teacher .", "nos sefa e ne vidu ."),
    ]
    assert demo_data.translation_pairs(50, seed=3) == demo_data.translation_pairs(50, seed=3)
    assert demo_data.translation_pairs(50, seed=3)[0] != demo_data.translation_pairs(50, seed=4)[0]


def test_translation_sizes_lengths_and_vocabulary(toy):
    sources, targets = toy
    assert (len(sources), len(targets)) == (4000, 4000)
    source_lengths = [len(s.split()) for s in sources]
    target_lengths = [len(t.split()) for t in targets]
    assert (min(source_lengths), max(source_lengths)) == (4, 12)
    assert (min(target_lengths), max(target_lengths)) == (3, 11)
    source_words = {word for s in sources for word in s.split()}
    target_words = {word for t in targets for word in t.split()}
    assert (len(source_words), len(target_words)) == (71, 70)
    assert {"twenty", "twelve", "not", "red", "dogs"} <= source_words
    assert {"dudek", "dekdu", "ne", "ruba", "wukri"} <= target_words
    assert len(demo_data.translation_pairs(7)[0]) == 7


def test_some_sentences_repeat_with_the_same_translation(toy):
    sources, targets = toy
    translations = collections.defaultdict(set)
    for source, target in zip(sources, targets):
        translations[source].add(target)
    assert len(translations) == 3625  # 375 repeats: enough for grouping to matter, few enough to learn from
    assert all(len(found) == 1 for found in translations.values())


def test_word_order_differs(toy):
    sources, targets = toy
    verbs = {**demo_data._TOY_TRANSITIVE, **demo_data._TOY_INTRANSITIVE}
    adjectives = {**demo_data._TOY_SIZES, **demo_data._TOY_COLOURS}
    nouns = {**demo_data._TOY_ANIMATES, **demo_data._TOY_THINGS}
    transitive = 0
    for source, target in zip(sources, targets):
        english, toy_words = source.split(), target.split()
        # The toy language is verb-final; English puts an object after a transitive verb.
        assert toy_words[-2] in verbs.values(), target
        if english[-2] not in verbs:
            transitive += 1
        # Adjectives precede the noun in English and follow it (in reverse order) in the toy language.
        for first, second in zip(english, english[1:]):
            if first in adjectives and second.removesuffix("s") in nouns:
                noun = nouns[second.removesuffix("s")] + ("ri" if second.endswith("s") else "")
                assert f"{noun} {adjectives[first]}" in target, (source, target)
            if first in demo_data._TOY_SIZES and second in demo_data._TOY_COLOURS:
                assert f"{adjectives[second]} {adjectives[first]}" in target, (source, target)
    assert transitive == 3174


def test_write_translation_tsv_round_trips(tmp_path):
    path = demo_data.write_translation_tsv(tmp_path / "demo" / "toy.tsv", count=30, seed=1)
    assert path == tmp_path / "demo" / "toy.tsv"
    config = parallel.ParallelDataConfig(source=str(path), source_column=0, target_column=1,
                                         validation_fraction=0, test_fraction=0)
    pairs = parallel.read_splits(config, seed=0).train
    assert (pairs.sources, pairs.targets) == demo_data.translation_pairs(30, seed=1)


def test_sentence_pairs_dispatcher():
    pairs = demo_data.sentence_pairs("translation")
    assert (pairs.sources, pairs.targets) == demo_data.translation_pairs()
    with pytest.raises(UserError) as error:
        demo_data.sentence_pairs("sentiment")
    assert str(error.value) == "unknown demo dataset 'demo:sentiment'; known: demo:translation"
