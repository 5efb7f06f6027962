"""Demo data that the project generates itself: small, deterministic toy data, learnable in seconds.

This is toy data for demos, notebooks and tests, not a benchmark. Real datasets are read by path
(see data/README.md).

Sentiment toy reviews need more than a bag of words: negation flips a judgement ("was not great"),
and after "but" the second clause decides the label.

Toy translation pairs go from simple English into a small made-up language with a different word
order, so that attention has to learn a non-monotonic alignment (see `translation_pairs`).

The toy play for character-level language models is laid out like Tiny Shakespeare (a speaker's
name and a colon, lines of speech, a blank line) but written from a tiny grammar, so that a small
char-RNN picks up its spelling and layout within seconds (see `play_script`).
"""

from __future__ import annotations

import pathlib
import random

from rnnapps.errors import UserError

_SUBJECTS = ["the movie", "this film", "the plot", "the acting", "the soundtrack", "the ending", "the cast",
             "the story", "the dialogue", "the director's work"]
_POSITIVE = ["great", "wonderful", "brilliant", "moving", "delightful", "superb", "charming", "excellent",
             "fun", "beautiful", "gripping", "clever"]
_NEGATIVE = ["awful", "boring", "dull", "terrible", "painful", "weak", "bland", "clumsy", "tedious",
             "dreadful", "messy", "forgettable"]
_INTENSIFIERS = ["", "", "really ", "truly ", "very ", "quite ", "so "]
_FILLERS = ["", "", "i saw it last sunday. ", "my friend picked it. ", "it runs two hours. ",
            "we watched it at home. "]
_VERBS = {"pos": ["loved", "enjoyed", "adored"], "neg": ["hated", "disliked", "regretted"]}


def _judgement(rng: random.Random, label: str) -> str:
    """One clause whose sentiment is `label`."""
    subject = rng.choice(_SUBJECTS)
    negated = rng.random() < 0.35
    # A negated clause uses an adjective of the opposite polarity.
    polarity = ("neg" if label == "pos" else "pos") if negated else label
    adjective = rng.choice(_POSITIVE if polarity == "pos" else _NEGATIVE)
    if rng.random() < 0.2 and not negated:
        return f"i {rng.choice(_VERBS[label])} {subject}"
    verb = rng.choice(["was", "is"])
    return f"{subject} {verb} {'not ' if negated else ''}{rng.choice(_INTENSIFIERS)}{adjective}"


def sentiment_reviews(count: int = 2000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generate toy reviews labelled "pos" or "neg".

    Args:
        count: number of reviews.
        seed: random seed (the same seed gives the same reviews).

    Returns:
        (texts, labels), two lists of `count` strings.
    """
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(count):
        label = rng.choice(["pos", "neg"])
        clause = _judgement(rng, label)
        if rng.random() < 0.3:
            # "X but Y": the clause after "but" decides, the one before says the opposite.
            opposite = "neg" if label == "pos" else "pos"
            clause = f"{_judgement(rng, opposite)} but {clause}"
        texts.append(f"{rng.choice(_FILLERS)}{clause}{rng.choice(['.', '!', '.', ' ...'])}")
        labels.append(label)
    return texts, labels


def write_sentiment_tsv(path: str | pathlib.Path, count: int = 2000, seed: int = 0) -> pathlib.Path:
    """Write toy reviews as a header-less TSV of `text<TAB>label` lines and return the path."""
    return _write_tsv(path, *sentiment_reviews(count, seed))


def _write_tsv(path: str | pathlib.Path, first: list[str], second: list[str]) -> pathlib.Path:
    """Write `first<TAB>second` lines (UTF-8, no header), creating folders, and return the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{a}\t{b}\n" for a, b in zip(first, second)), encoding="utf-8")
    return path


def labelled_texts(name: str):
    """The demo text-classification set called `name` ("sentiment") as `LabelledTexts`."""
    from rnnapps.datasets.text_classification import LabelledTexts

    if name != "sentiment":
        raise UserError(f"unknown demo dataset 'demo:{name}'; known: demo:sentiment")
    return LabelledTexts(*sentiment_reviews())


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
    return _write_tsv(path, *translation_pairs(count, seed))


def sentence_pairs(name: str):
    """The demo translation set called `name` as `parallel.SentencePairs` (for "demo:NAME" sources).

    Args:
        name: "translation" (4,000 pairs of `translation_pairs()`).

    Returns:
        The pairs, English as the source.

    Raises:
        UserError: `name` is not a known demo translation set.
    """
    from rnnapps.datasets.parallel import SentencePairs

    if name != "translation":
        raise UserError(f"unknown demo dataset 'demo:{name}'; known: demo:translation")
    return SentencePairs(*translation_pairs())


# --------------------------------------------------------------------------- toy play
# A few speakers, a few dozen lowercase words and a dozen sentence shapes: the alphabet stays small
# and every word recurs hundreds of times in 60,000 characters, so a char-RNN learns it quickly.
_PLAY_SPEAKERS = ["ROMEO", "JULIET", "NURSE", "KING", "QUEEN", "FOOL"]
_PLAY_NOUNS = ["love", "night", "moon", "heart", "crown", "sword", "rose", "sun", "grave", "house",
               "name", "day"]
_PLAY_ADJECTIVES = ["sweet", "fair", "good", "gentle", "noble", "cruel", "dark", "true"]
_PLAY_VERBS = ["love", "fear", "know", "see", "hear", "keep", "seek", "serve"]
_PLAY_SUBJECTS = ["i", "we", "they", "you"]
_PLAY_COMMANDS = ["come hither", "stay", "go hence", "speak", "look", "away"]
_PLAY_INTERJECTIONS = ["alas", "ay", "nay", "o", "fie"]


def _play_sentence(rng: random.Random, listener: str) -> str:
    """One sentence of speech, addressed now and then to `listener` (a lowercase speaker name)."""
    noun, other = rng.choice(_PLAY_NOUNS), rng.choice(_PLAY_NOUNS)
    adjective, subject = rng.choice(_PLAY_ADJECTIVES), rng.choice(_PLAY_SUBJECTS)
    verb, command = rng.choice(_PLAY_VERBS), rng.choice(_PLAY_COMMANDS)
    return rng.choice([
        f"{subject} {verb} the {adjective} {noun}.",
        f"o {adjective} {noun}, {command}!",
        f"what {noun} is this?",
        f"where is my {noun}?",
        f"my {noun} is {adjective}, and thy {other} is {rng.choice(_PLAY_ADJECTIVES)}.",
        f"{command}, good {listener}, {command}!",
        f"shall {subject} {verb} the {noun}?",
        f"{rng.choice(_PLAY_INTERJECTIONS)}, the {noun} is {adjective}.",
        f"i {verb} thee, {listener}; {command}.",
        f"by my {noun}, {subject} {verb} thy {other}.",
    ])


def play_script(characters: int = 60000, seed: int = 0) -> str:
    """Generate a toy play laid out like Tiny Shakespeare, for character-level language models.

    This is toy data for demos and tests, not a benchmark. The play is a run of blocks, each a
    speaker's name in capitals with a colon on its own line ("JULIET:"), one to three lines of
    lowercase speech (one or two sentences each, with , . ; ! ?), and a blank line. Six speakers take
    turns (never the same one twice in a row) and sometimes address the previous speaker by name.

    Example block:
        NURSE:
        o sweet moon, stay! where is my crown?
        by my rose, we keep thy sword.

    Args:
        characters: length of the text; the last block is cut off where the text reaches it.
        seed: random seed (the same seed gives the same play).

    Returns:
        A string of exactly `characters` characters.

    Raises:
        UserError: `characters` is negative.
    """
    if characters < 0:
        raise UserError(f"the demo play length is {characters}: expected 0 or more characters")
    rng = random.Random(seed)
    blocks: list[str] = []
    length = 0
    speaker = listener = rng.choice(_PLAY_SPEAKERS)
    while length < characters:
        listener, speaker = speaker, rng.choice([name for name in _PLAY_SPEAKERS if name != speaker])
        lines = [" ".join(_play_sentence(rng, listener.lower()) for _ in range(rng.choice([1, 1, 2])))
                 for _ in range(rng.choice([1, 2, 2, 3]))]
        block = f"{speaker}:\n" + "\n".join(lines) + "\n\n"
        blocks.append(block)
        length += len(block)
    return "".join(blocks)[:characters]
