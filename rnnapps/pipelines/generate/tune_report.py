"""What a model of tunes writes, measured: sample tunes as a tune begins in the training text, and set their
measures (`tune_measures`) beside the held-out tunes'. `GeneratePipeline.score` adds this report for models of
tunes (`rnnapps generate evaluate`), and `benchmarks/music.py` prints it.
"""

from __future__ import annotations

import logging
from typing import Any

from rnnapps import music
from rnnapps.errors import UserError
from rnnapps.pipelines.generate import data, tune_measures

log = logging.getLogger(__name__)

PROMPT = "\n\n"  # where a tune begins in the training text: after the empty line that ends another
COPY_BARS = 8  # copying a training tune "for more than 8 bars" fails a sample


def sample_tunes(pipeline, count: int, temperature: float, seed: int, prompt: str = PROMPT) -> tuple[list[str], int]:
    """`count` tunes the pipeline's model writes after `prompt`, each the tune begun after the prompt's last empty
    line (a header, the music), and how many of them the model ended itself (before the length ran out)."""
    results = pipeline.predict([prompt], num_samples=count, temperature=temperature, seed=seed)
    tunes = [music.last_tune(result["text"]) for result in results]
    limit = pipeline.recipe.decoding.length
    ended = sum(len(pipeline.preprocessor.encode_text(result["generated"])) < limit for result in results)
    return tunes, ended


def measure(pipeline, held_out_text: str, count: int, temperature: float | None = None, seed: int | None = None,
            prompt: str = PROMPT) -> dict[str, Any]:
    """The music measures of `count` sampled tunes against the tunes of `held_out_text`.

    Args:
        pipeline: a `GeneratePipeline` of tunes.
        held_out_text: tunes the model did not learn from (`abc.END_OF_TUNE` after each).
        count: tunes to sample.
        temperature, seed: sampling settings (None: the recipe's temperature and seed).
        prompt: what every sample continues.

    Returns:
        {"sampled": `tune_measures.describe` of the samples, "held_out": the same of the held-out tunes,
        "temperature", "ended_share" (samples the model ended itself), "copy_share" (samples with more than
        `COPY_BARS` consecutive bars of one training tune; None when the recipe's training tunes cannot be read)}.
    """
    temperature = pipeline.recipe.decoding.temperature if temperature is None else temperature
    seed = pipeline.recipe.seed if seed is None else seed
    samples, ended = sample_tunes(pipeline, count, temperature, seed, prompt)
    try:
        training = tune_measures.split_tunes(data.read_corpus(pipeline.recipe.data, pipeline.recipe.seed).train)
    except UserError as error:
        log.warning("the training tunes cannot be read (%s): copying is not measured", error)
        training = None
    copies = None
    if training is not None:
        windows = tune_measures.bar_windows(training, COPY_BARS + 1)
        copies = sum(tune_measures.copied(tune, windows, COPY_BARS + 1) for tune in samples)
    return {
        "sampled": tune_measures.describe(samples),
        "held_out": tune_measures.describe(tune_measures.split_tunes(held_out_text)),
        "temperature": temperature,
        "ended_share": round(ended / max(count, 1), 3),
        "copy_share": None if copies is None else round(copies / max(count, 1), 3),
        "example": samples[0] if samples else "",
    }


def summary_line(report: dict[str, Any]) -> str:
    """One line of a tune report for people."""
    sampled, held_out = report["sampled"], report["held_out"]
    copies = "" if report["copy_share"] is None else (
        f", {report['copy_share']:.0%} copy > {COPY_BARS} bars of a training tune")
    return (f"tunes: {sampled['tunes']} sampled at temperature {report['temperature']:g}: "
            f"{sampled['parse_share']:.0%} parse, {sampled['fit_share']:.0%} fit their meter{copies}, "
            f"{report['ended_share']:.0%} ended by the model (held-out tunes: {held_out['parse_share']:.0%} parse, "
            f"{held_out['fit_share']:.0%} fit)")
