"""Toy translation pairs that rnnapps generates itself (demo data, not a benchmark): simple English into a
small made-up language with a different word order, so that attention has to learn a non-monotonic
alignment (see `translation_pairs`)."""

from __future__ import annotations

import pathlib
import random

from rnnapps.datasets import files
from rnnapps.errors import UserError
from rnnapps.pipelines.translate import pairs

# --------------------------------------------------------------------------- toy translation
# A made-up target language. Its grammar differs from English on purpose:
#   - verb-final: SUBJECT [OBJECT] [ne] VERB   (English: SUBJECT will [not] VERB [OBJECT])
#   - noun phrases run backwards: NOUN[ri] [COLOUR] [SIZE] [NUMBER] [DETERMINER]
#     (English: [DETERMINER | NUMBER] [SIZE] [COLOUR] NOUN[s])
#   - plural is the suffix "ri" on the noun; negation is the particle "ne" before the verb;
#     English "will" has no word of its own.
_TOY_PRONOUNS = {"i": "mo", "you": "tu", "he": "lo", "she": "la", "we": "nos", "they": "ilo"}
_TOY_ANIMATES = {"dog": "wuk", "cat": "mirra", "bird": "tiko", "girl": "lani", "boy": "doro",
                 "teacher": "sefa", "friend": "kamu"}
_TOY_THINGS = {"ball": "popo", "book": "lebu", "cup": "tasu", "hat": "kepi"}
_TOY_COLOURS = {"red": "ruba", "blue": "nilo", "green": "vera", "black": "kuro", "white": "bela",
                "brown": "brun"}
_TOY_SIZES = {"big": "gran", "small": "piti"}
_TOY_NUMBERS = dict(zip(
    ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"],
    ["un", "du", "tri", "kar", "pen", "ses", "sep", "ok", "nai", "dek", "dekun", "dekdu", "dektri",
     "dekkar", "dekpen", "dekses", "deksep", "dekok", "deknai", "dudek"]))
_TOY_DETERMINERS = {"the": "ka", "a": "e", "my": "mia"}
_TOY_TRANSITIVE = {"see": "vidu", "eat": "manu", "like": "amu", "find": "trovu", "want": "volu",
                   "carry": "portu"}
_TOY_INTRANSITIVE = {"run": "kuru", "sleep": "dormu", "sing": "kantu"}
_TOY_PLURAL = "ri"
_TOY_NEGATION = "ne"


def _toy_noun_phrase(rng: random.Random, nouns: dict[str, str]) -> tuple[list[str], list[str]]:
    """One noun phrase as (English words, toy-language words)."""
    noun = rng.choice(sorted(nouns))
    adjectives = []  # English order: size before colour
    if rng.random() < 0.3:
        adjectives.append(rng.choice(sorted(_TOY_SIZES)))
    if rng.random() < 0.5:
        adjectives.append(rng.choice(sorted(_TOY_COLOURS)))
    toy_adjectives = [{**_TOY_SIZES, **_TOY_COLOURS}[word] for word in reversed(adjectives)]
    if rng.random() < 0.25:
        number = rng.choice(list(_TOY_NUMBERS))
        plural = number != "one"
        english = [number, *adjectives, noun + ("s" if plural else "")]
        toy = [nouns[noun] + (_TOY_PLURAL if plural else ""), *toy_adjectives, _TOY_NUMBERS[number]]
        return english, toy
    determiner = rng.choice(["the", "the", "a", "my"])
    return [determiner, *adjectives, noun], [nouns[noun], *toy_adjectives, _TOY_DETERMINERS[determiner]]


def translation_pairs(count: int = 4000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generate toy English sentences and their translation into a made-up verb-final language.

    This is toy data for demos and tests, not a benchmark. Both sides are lowercase, with words and
    the final "." separated by single spaces; English sentences are 4 to 12 tokens long, their
    translations 3 to 11, and each side has about 70 distinct words (20 of them numbers). The
    translation is a function of the sentence, so a sentence that occurs twice (short ones do:
    about 9% of the pairs repeat an earlier one) has the same translation both times.

    Example: "the big dog will not eat three red cups ." -> "wuk gran ka tasuri ruba tri ne manu ."

    Args:
        count: number of pairs.
        seed: random seed (the same seed gives the same pairs).

    Returns:
        (sources, targets): `count` English sentences and their toy-language translations.
    """
    rng = random.Random(seed)
    sources, targets = [], []
    for _ in range(count):
        if rng.random() < 0.35:
            pronoun = rng.choice(sorted(_TOY_PRONOUNS))
            english, toy = [pronoun], [_TOY_PRONOUNS[pronoun]]
        else:
            english, toy = _toy_noun_phrase(rng, _TOY_ANIMATES)
        negated = rng.random() < 0.3
        english += ["will", "not"] if negated else ["will"]
        if rng.random() < 0.2:
            verb = rng.choice(sorted(_TOY_INTRANSITIVE))
            english.append(verb)
            toy_verb = _TOY_INTRANSITIVE[verb]
        else:
            verb = rng.choice(sorted(_TOY_TRANSITIVE))
            object_english, object_toy = _toy_noun_phrase(rng, {**_TOY_ANIMATES, **_TOY_THINGS})
            english += [verb, *object_english]
            toy += object_toy
            toy_verb = _TOY_TRANSITIVE[verb]
        toy += [_TOY_NEGATION, toy_verb] if negated else [toy_verb]
        sources.append(" ".join(english + ["."]))
        targets.append(" ".join(toy + ["."]))
    return sources, targets


def write_translation_tsv(path: str | pathlib.Path, count: int = 4000, seed: int = 0) -> pathlib.Path:
    """Write toy translation pairs as `english<TAB>toy-language` lines and return the path.

    Column 0 is the source (English), column 1 the target: read the file with
    `source_column = 0` and `target_column = 1` (the reverse of the spa.txt defaults).

    Args:
        path: the file to write (its folder is created).
        count: number of pairs.
        seed: random seed, as in `translation_pairs`.

    Returns:
        `path` as a Path.
    """
    return files.write_tsv(path, *translation_pairs(count, seed))


def sentence_pairs(name: str) -> pairs.SentencePairs:
    """The demo translation set called `name` as `pairs.SentencePairs` (for "demo:NAME" sources).

    Args:
        name: "translation" (4,000 pairs of `translation_pairs()`).

    Returns:
        The pairs, English as the source.

    Raises:
        UserError: `name` is not a known demo translation set.
    """
    if name != "translation":
        raise UserError(f"unknown demo dataset 'demo:{name}'; known: demo:translation")
    return pairs.SentencePairs(*translation_pairs())
