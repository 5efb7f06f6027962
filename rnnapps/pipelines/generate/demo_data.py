"""A toy play that rnnapps generates itself (demo data, not a benchmark), laid out like Tiny Shakespeare
(a speaker's name and a colon, lines of speech, a blank line) but written from a tiny grammar, so that a
small char-RNN picks up its spelling and layout within seconds (see `play_script`)."""

from __future__ import annotations

import random

from rnnapps.errors import UserError

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
