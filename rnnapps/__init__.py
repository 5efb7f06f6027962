"""rnnapps: recurrent-network applications (text tasks and time-series forecasting) on Keras 3.

The tasks, one package each under `rnnapps.pipelines` (listed in `rnnapps.registry.TASK_PACKAGES`), share
tokenizers, embeddings, recurrent layers, datasets, one trainer, one bundle format and one export path.
See README.md and ARCHITECTURE.md.
"""

__version__ = "0.1.0"
