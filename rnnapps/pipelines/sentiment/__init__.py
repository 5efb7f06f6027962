"""Sentiment (many-to-one): text -> label + probability with a recurrent classifier."""

from rnnapps import task

TASK = task.TaskSpec(
    name="sentiment",
    summary="Text classification (many-to-one): text -> label + probability.",
    pretrains=True,
)


__getattr__ = TASK.module_getattr()
