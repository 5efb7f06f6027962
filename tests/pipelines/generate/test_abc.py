"""Folk tunes in ABC notation as training text: tunes cleaned to one form, versions of one tune kept in one
split, and the real corpora read whole."""

import dataclasses
import pathlib

import pytest

from rnnapps.datasets import text_corpus
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import abc, abc_bars, data, recipe, tune_measures

ABC = r"""% a collection: text before the first tune is not a tune
X: 1
T:Bonnie Kate (first version) (reel)
S:somebody
C:composer
R:reel
M:C
Q:180
K:Dmaj
%%MIDI program 1
"D"AFdA BdAF|"G"DFAF EE/E/ E2| % a comment
AFAd\
 BGBd|cdAc d2||
w: la la la
M:2/4
"5"ABcd|]

X:2
T:Bonnie Kate (second version)
M:2/4
K:E minor
EF GA|B2 B2|]

X:3
T:No key, so no tune
M:3/4
ABC|

X: 4
T:Only a header
K:G
"""


def test_tunes_are_cleaned_to_one_form():
    tunes = abc.read_tunes(ABC, "tunes.abc")
    assert [tune.title for tune in tunes] == ["Bonnie Kate (first version) (reel)", "Bonnie Kate (second version)"]
    assert tunes[0].text() == ("M:4/4\nL:1/8\nR:reel\nK:D\n"
                               "AFdA BdAF|DFAF EE/E/ E2|\n"
                               "AFAd BGBd|cdAc d2||\n"  # the continuation joined, chords and lyrics gone
                               "M:2/4\n"  # an inline meter change stays
                               "ABcd|]\n")
    assert tunes[1].text() == "M:2/4\nL:1/16\nK:Em\nEF GA|B2 B2|]\n"  # 2/4 < 3/4: the standard's L:1/16
    assert tunes[0].where == "tunes.abc line 2"
    assert tunes[0].group == tunes[1].group == "bonnie kate"  # versions of one tune


def test_free_text_after_a_tune_and_stray_tune_numbers_are_not_music():
    tunes = abc.read_tunes("X:1\nT:A\nM:2/4\nK:D\nAB cd|]X:197\n\nThis tune concerns a shipwreck.\nX:2\nT:B\nK:G\n"
                           "G4|]\n", "book.abc")
    assert [tune.body for tune in tunes] == ["AB cd|]", "G4|]"]


@pytest.mark.parametrize("titles", [("The Perfect Cure", "Perfect Cure, The"),
                                    ("Paddy O'Rafferty 1", "Paddy O'Rafferty 2"),
                                    ("Crosses of Annagh*", "Crosses of Annagh 2"),
                                    ("North Skelton 1 v 1", "North Skelton")])
def test_versions_of_a_tune_share_a_group(titles):
    first, second = (abc.Tune(title, {}, "", "here") for title in titles)
    assert first.group == second.group


def test_chords_stay_when_asked():
    assert '"D"AFdA' in abc.read_tunes(ABC, "tunes.abc", keep_chords=True)[0].body


@pytest.mark.parametrize("written, meter", [("C", "4/4"), ("C|", "2/2"), ("6/8", "6/8"), (" 9 / 8", "9/8")])
def test_meters(written, meter):
    assert abc.normalise_meter(written) == meter


@pytest.mark.parametrize("written, key", [("D", "D"), ("Dmaj", "D"), ("D major", "D"), ("Ador", "Ador"),
                                          ("Em", "Em"), ("e minor", "Em"), ("F#m", "F#m"), ("Bb", "Bb"),
                                          ("G clef=treble", "G"), ("Amix", "Amix")])
def test_keys(written, key):
    assert abc.normalise_key(written) == key


def _collection(folder: pathlib.Path, tunes: int) -> pathlib.Path:
    """A folder of two ABC files: `tunes` tunes, each in two versions (one per file)."""
    for version in (1, 2):
        (folder / f"book{version}.abc").write_text("".join(
            f"X:{index}\nT:Tune {index}a (version {version})\nM:6/8\nK:G\nG{index + 2} A{version}|]\n\n"
            for index in range(tunes)))
    (folder / "notes.txt").write_text("not music\n")
    return folder


def test_a_split_keeps_versions_of_a_tune_together(tmp_path):
    config = recipe.TextDataConfig(source=str(_collection(tmp_path, 40)), format="abc", validation_fraction=0.2)
    corpus = data.read_corpus(config, seed=3)
    train, validation = (part.split("\n\n")[:-1] for part in (corpus.train, corpus.validation))
    assert len(train) == 64 and len(validation) == 16  # 8 of the 40 tunes, in both versions
    assert corpus.train.endswith("|]\n\n") and corpus.validation.endswith("|]\n\n")  # an empty line ends a tune

    def tune(text):  # "G7" for tune 5, whichever version
        return text.splitlines()[-1].split()[0]
    assert not {tune(t) for t in train} & {tune(t) for t in validation}
    assert len({tune(t) for t in validation}) == 8
    assert data.read_corpus(config, seed=3) == corpus  # reproducible
    assert "80 tunes in 2 files" in corpus.origin


def test_the_demo_tunes_are_read_as_tunes_and_fill_their_bars():
    corpus = data.read_corpus(recipe.TextDataConfig(source="demo", format="abc", demo_characters=20000), seed=1)
    tunes = tune_measures.split_tunes(corpus.train) + tune_measures.split_tunes(corpus.validation)
    assert len(tunes) > 80 and "toy tunes" not in corpus.train and "X:" not in corpus.train
    assert tune_measures.describe(tunes)["fit_share"] == 1.0
    assert {abc_bars.split_tune(tune)[0]["M"] for tune in tunes} == {"6/8", "3/4"}


def test_a_prompts_header_is_spelled_as_the_cleaned_tunes_spell_it():
    # a whole header: in the cleaned order, with the default unit length, other fields dropped
    assert abc.normalise_prompt("X:1\nT:Kate\nM:C\nR: Jig\nK: D major\n") == "M:4/4\nL:1/8\nR:jig\nK:D\n"
    assert abc.normalise_prompt("|]\n\nM:6/8\nK:Dmaj\nAB") == "|]\n\nM:6/8\nL:1/8\nK:D\nAB"
    assert abc.normalise_prompt("K:G\nAB|\nM:3/4\nK:Em\n") == "K:G\nAB|\nM:3/4\nK:Em\n"  # not a header alone
    assert abc.normalise_prompt("|]\n\nM:") == "|]\n\nM:"  # a line still being written is left alone
    assert abc.normalise_prompt("K:Dma") == "K:Dma"
    assert abc.normalise_prompt("abc\nd2B|\n") == "abc\nd2B|\n"


def test_abc_sources_that_cannot_be_read_say_why(tmp_path):
    with pytest.raises(UserError, match="reads ABC files"):
        data.read_corpus(recipe.TextDataConfig(source="tfds:tiny_shakespeare", format="abc"))
    with pytest.raises(UserError, match="demo_characters = 0"):
        data.read_corpus(recipe.TextDataConfig(source="demo", format="abc", demo_characters=0))
    (tmp_path / "empty.abc").write_text("% nothing here\n")
    with pytest.raises(UserError, match="no ABC tune"):
        data.read_corpus(recipe.TextDataConfig(source=str(tmp_path), format="abc"))
    with pytest.raises(UserError, match="share of the tunes"):
        data.read_corpus(recipe.TextDataConfig(source=str(tmp_path), format="abc", validation_fraction=0.7))


MUSIC = pathlib.Path(__file__).resolve().parents[4] / "shared" / "data" / "music"


@pytest.mark.skipif(not MUSIC.is_dir(), reason="needs ../shared/data/music (the Nottingham and CRE corpora)")
def test_the_folk_corpora_are_read_whole():
    config = recipe.TextDataConfig(source=str(MUSIC), format="abc", validation_fraction=0.1)
    text, where = text_corpus.read_local_text(dataclasses.replace(config, file_suffix=".abc"))
    tunes = abc.read_tunes(text, where)
    assert len(tunes) == 1034 + 1224  # every tune of both collections has a key and music
    corpus = data.read_corpus(config, seed=42)
    assert corpus.train.count("\n\n") + corpus.validation.count("\n\n") == len(tunes)
    assert "(2,034 train, 224 validation" in corpus.origin
