"""Image captioning (one-to-many): a CNN image encoder and an RNN decoder with visual attention."""

from rnnapps import task


def _predict_options():
    return [task.beam_option(),
            task.plot_attention_option("the attention map of every word of the first image's caption")]


TASK = task.TaskSpec(
    name="caption",
    summary="Image captioning (one-to-many): CNN encoder + RNN decoder with visual attention, beam search.",
    pipeline="rnnapps.pipelines.caption.pipeline:CaptionPipeline",
    demo_recipe="caption-demo.toml",
    inputs="image files (JPEG, PNG, GIF, BMP, WebP) or folders of them",
    use_options=_predict_options,
    evaluate_options=lambda: [task.beam_option()],
)


def __getattr__(name: str):
    """`CaptionPipeline` on first use, so that reading `TASK` (e.g. for `rnnapps --help`) imports no TensorFlow."""
    if name == "CaptionPipeline":
        from rnnapps.pipelines.caption.pipeline import CaptionPipeline

        return CaptionPipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
