"""Task pipelines: one package per task, each declaring itself with `TASK` in its `__init__.py`; the tasks
are the packages listed in `rnnapps.registry.TASK_PACKAGES` (not repeated here, so this cannot go stale).
`base` is the Task contract (see ARCHITECTURE.md)."""
