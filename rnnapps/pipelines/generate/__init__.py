"""Text generation: a char-RNN language model sampled with temperature, top-k and top-p; folk tunes in ABC notation,
read as characters or musical tokens, written as ABC, MIDI or WAV."""

import re

import click

from rnnapps import music, task


def line_breaks(prompt: str) -> str:
    """A prompt as typed in a shell -> the text: the two characters \\n are a line break, and \\\\ one
    backslash (so that a prompt can still hold a backslash followed by n)."""
    return re.sub(r"\\([\\n])", lambda match: "\n" if match.group(1) == "n" else "\\", prompt)


def _line_breaks(context, parameter, prompts: tuple[str, ...]) -> tuple[str, ...]:
    """--prompt values read by `line_breaks`."""
    return tuple(line_breaks(prompt) for prompt in prompts)


def _sample_options():
    return [
        click.Option(["--prompt", "prompts"], multiple=True, metavar="TEXT", callback=_line_breaks,
                     help="Text to continue (repeatable; default: an empty prompt, which starts a fresh line). "
                          "\\n is a line break, as in an ABC header: --prompt 'M:6/8\\nK:D\\n' (\\\\ is a "
                          "backslash)."),
        click.Option(["--length"], type=int, default=None,
                     help="Characters to generate, or tokens for a model of musical tokens (default: the recipe's)."),
        click.Option(["--temperature"], type=float, default=None,
                     help="> 0; below 1 is more conservative, above 1 more surprising (default: the recipe's)."),
        click.Option(["--top-k"], type=int, default=None,
                     help="Sample among the k most likely characters or tokens (0 = all)."),
        click.Option(["--top-p"], type=float, default=None,
                     help="Sample from the smallest set of characters or tokens holding this probability, in "
                          "(0, 1] (1 = all)."),
        click.Option(["--seed"], type=int, default=None, help="Same seed, same text (default: random, and printed)."),
        click.Option(["--num-samples"], type=click.IntRange(min=1), default=1, show_default=True,
                     help="Samples per prompt."),
        click.Option(["--format", "file_format"], type=click.Choice(music.FORMATS), default=None,
                     help="For a model of tunes in ABC notation: also write each sample's tune as an ABC file (all "
                          "samples in one), a MIDI file or a WAV recording (repeats played out)."),
        click.Option(["--out"], type=click.Path(dir_okay=False), default=None,
                     help="The file --format writes (default: sample.abc, sample.mid or sample.wav; with several "
                          "samples, MIDI and WAV add -2, -3, ... to the name). Ending in .abc, .mid or .wav, it "
                          "chooses the format without --format."),
    ]


def _evaluate_options():
    return [click.Option(["--tunes"], type=click.IntRange(min=0), default=None,
                         help="For a model of tunes: tunes to sample and measure against the held-out ones (parse, fit "
                              "their meter, copy a training tune; keys, meters, lengths) (default 100; 0 = none).")]


TASK = task.TaskSpec(
    name="generate",
    summary="Character-level generation: a char-RNN language model sampled with temperature, top-k and top-p; folk "
            "tunes in ABC notation, written as ABC, MIDI or WAV.",
    use_aliases=("sample",),
    use_help="Generate text from a trained language model, continuing each --prompt.",
    inputs=None,
    inputs_option="prompts",
    default_inputs=("",),
    use_options=_sample_options,
    evaluate_options=_evaluate_options,
)


__getattr__ = TASK.module_getattr()
