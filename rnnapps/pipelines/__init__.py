"""Task pipelines: one package per task (`sentiment`, `translate`, `generate`, `caption`), each declaring
itself with `TASK` in its `__init__.py` (listed in `rnnapps.registry`). `base` is the Task contract."""
