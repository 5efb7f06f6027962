"""Sentiment (many-to-one): text -> label + probability with a recurrent classifier."""

from rnnapps import task

TASK = task.TaskSpec(
    name="sentiment",
    summary="Text classification (many-to-one): text -> label + probability.",
    pipeline="rnnapps.pipelines.sentiment.pipeline:SentimentPipeline",
    demo_recipe="sentiment-demo.toml",
)


def __getattr__(name: str):
    """`SentimentPipeline` on first use, so that reading `TASK` (e.g. for `rnnapps --help`) imports no TensorFlow."""
    if name == "SentimentPipeline":
        from rnnapps.pipelines.sentiment.pipeline import SentimentPipeline

        return SentimentPipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
