"""Demo data that rnnapps generates itself (not a benchmark): a toy play laid out like Tiny Shakespeare (a
speaker's name and a colon, lines of speech, a blank line) but written from a tiny grammar, so that a small
char-RNN picks up its spelling and layout within seconds (`play_script`); and toy tunes in ABC notation, scales
and arpeggios whose bars a small model learns to fill (`toy_tunes`)."""

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


# --------------------------------------------------------------------------- toy tunes
# Scales and arpeggios in four keys and two meters, written as an ABC file that `abc.read_tunes` reads like the
# folk recipe's data. Every bar lasts six eighths (6/8 and 3/4 alike), so that a small model of musical tokens
# learns to fill its bars within seconds; telling a 4/4 bar from a 6/8 one takes a real corpus and minutes.
_TUNE_KEYS = {"D": 1, "G": 4, "A": 5, "Em": 2}  # key -> its tonic's position in _TUNE_LETTERS
# Up from middle C (index 0) to g'; the key signature gives the sharps.
_TUNE_LETTERS = [*"CDEFGABcdefgab", *(f"{letter}'" for letter in "cdefg")]
# meter -> (rhythm, bar shapes: the lengths, in eighths, of a bar's notes)
_TUNE_METERS = {
    "6/8": ("jig", [(1, 1, 1, 1, 1, 1), (1, 1, 1, 3), (2, 1, 2, 1)]),
    "3/4": ("waltz", [(2, 2, 2), (1, 1, 2, 2)]),
}
_TUNE_ENDINGS = {"6/8": "{fifth}3{tonic}3", "3/4": "{tonic}6"}
_TUNE_BEAMS = {"6/8": 3, "3/4": 2}  # eighths between spaces (beams) in a bar
_PROGRESSIONS = [(0, 0, 4, 0), (0, 3, 4, 0), (0, 3, 0, 4)]  # scale degrees of each 4-bar phrase's chords


def _tune_bar(rng: random.Random, tonic: int, degree: int, shape: tuple[int, ...], beam: int) -> str:
    """One bar: a run of the scale or an arpeggio of the chord on `degree`, up or down, notes as long as
    `shape` says (in eighths), a space after every `beam` eighths."""
    root = tonic + degree
    steps = [0, 2, 4, 7, 9, 7, 4, 2] if rng.random() < 0.5 else list(range(8))  # arpeggio up and back, or a run
    positions = [root + step for step in steps[:len(shape)]]
    if rng.random() < 0.5:
        positions.reverse()  # the same notes, downwards
    notes, elapsed = [], 0
    for position, length in zip(positions, shape):
        notes.append(_TUNE_LETTERS[position] + (str(length) if length > 1 else ""))
        elapsed += length
        if elapsed % beam == 0:
            notes.append(" ")
    return "".join(notes).strip()


def toy_tunes(characters: int = 30000, seed: int = 0) -> str:
    """Generate toy tunes as an ABC file (scales and arpeggios), for models of tunes (`data.format = "abc"`).

    This is toy data for demos and tests, not music. Each tune has a header (X:, T:, M:, L:1/8, R:, K:) and two repeated
    sections of eight bars (two lines of four); each bar is a scale run or an arpeggio over a simple chord
    progression, and every bar fills its meter exactly (6/8 jigs and 3/4 waltzes in D, G, A and Em).
    Tunes are separated by an empty line.

    Example:
        X:1
        T:Toy jig 1 in G
        M:6/8
        L:1/8
        R:jig
        K:G
        |:GAB cde|c2e g2G|...

    Args:
        characters: about how long the text is: tunes are written, whole, until it is at least this long.
        seed: random seed (the same seed gives the same tunes).

    Returns:
        The tunes as one text (at least one tune).

    Raises:
        UserError: `characters` is below 1.
    """
    if characters < 1:
        raise UserError(f"the demo tunes' length is {characters}: expected 1 or more characters")
    rng = random.Random(seed)
    tunes: list[str] = []
    while sum(len(tune) + 2 for tune in tunes) < characters:
        meter = rng.choice(list(_TUNE_METERS))
        rhythm, shapes = _TUNE_METERS[meter]
        key = rng.choice(list(_TUNE_KEYS))
        tonic = _TUNE_KEYS[key]
        lines = []
        for _section in range(2):
            bars = []
            for phrase in range(2):
                progression = rng.choice(_PROGRESSIONS)
                for index, degree in enumerate(progression):
                    if phrase == 1 and index == 3:  # the section ends on the tonic
                        bars.append(_TUNE_ENDINGS[meter].format(tonic=_TUNE_LETTERS[tonic + 7],
                                                                fifth=_TUNE_LETTERS[tonic + 4]))
                    else:
                        bars.append(_tune_bar(rng, tonic, degree, rng.choice(shapes), _TUNE_BEAMS[meter]))
            lines += ["|:" + "|".join(bars[:4]) + "|", "|".join(bars[4:]) + ":|"]
        number = len(tunes) + 1
        # A title that ends in a number reads as a version of another tune (`abc.Tune.group`): the number first.
        tunes.append("\n".join([f"X:{number}", f"T:Toy {rhythm} {number} in {key}", f"M:{meter}", "L:1/8",
                                f"R:{rhythm}", f"K:{key}", *lines]))
    return "\n\n".join(tunes) + "\n"
