"""Translation (many-to-many): a sequence-to-sequence model with attention, greedy and beam search."""

from rnnapps import task


def _predict_options():
    return [task.beam_option(),
            task.plot_attention_option("the attention heatmap (source x output tokens) of the first input")]


TASK = task.TaskSpec(
    name="translate",
    summary="Translation (many-to-many): seq2seq with Bahdanau/Luong attention, greedy and beam search.",
    pipeline="rnnapps.pipelines.translate.pipeline:TranslatePipeline",
    demo_recipe="translate-demo.toml",
    use_options=_predict_options,
    evaluate_options=lambda: [task.beam_option()],
)


def __getattr__(name: str):
    """`TranslatePipeline` on first use, so that reading `TASK` (e.g. for `rnnapps --help`) imports no TensorFlow."""
    if name == "TranslatePipeline":
        from rnnapps.pipelines.translate.pipeline import TranslatePipeline

        return TranslatePipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
