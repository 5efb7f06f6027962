"""The `[pretraining]` recipe section: language-model pretraining of a text task's embedding and encoder."""

from __future__ import annotations

import dataclasses
from typing import Literal

from rnnapps import sections

TRAINING_TEXTS = "training"


@dataclasses.dataclass(frozen=True)
class PretrainingConfig(sections.Section):
    """How the embedding and recurrent encoder are pretrained as a language model on unlabelled text before
    the task trains (see `rnnapps.pretraining`).

    Attributes:
        source: the unlabelled text: a text file, a folder of text files (read recursively), a .tar.gz of
            such a folder, or "tfds:NAME"; "training" = the task's training texts alone; "" = no
            pretraining (unless `path` names a pretrained encoder).
        path: a pretrained encoder written earlier ('rnnapps TASK pretrain --out DIR', or the pretraining/
            folder of a run): fine-tune from it and skip pretraining. Pretrain once, fine-tune many times.
        include_training_texts: add the task's training texts (never its validation or test texts) to `source`.
        file_suffix: only files whose names end with this are read from a folder or archive.
        validation_fraction: share of the documents, from the end of the text, held out to watch the
            language model's loss.
        window: tokens per training window; windows are cut from the running text at a fresh offset
            every epoch.
        epochs: most epochs (passes over the text, or `steps_per_epoch` batches each).
        steps_per_epoch: batches per epoch (0 = one pass over the text); shorter epochs checkpoint more often
            and let `max_minutes` stop closer to its mark on a large text.
        batch_size: windows per batch.
        learning_rate: Adam learning rate, cosine-decayed to 0 over all epochs.
        max_minutes: stop after the epoch that crosses this much training time (0 = no limit).
        dropout_rate: dropout on the recurrent outputs before the next-token prediction.
        sampled_words: words the sampled softmax scores at each step instead of the whole vocabulary
            (the true next word plus this many drawn by frequency).
        transfer: what the task's model starts from: "encoder" (the embedding and the recurrent layers that
            fit) or "embedding" (the embedding alone).
        freeze_epochs: fine-tuning epochs during which the transferred layers are frozen (their gradients
            stopped) while the rest of the model learns; 0 = fine-tune everything from the start.
    """

    source: str = ""
    path: str = ""
    include_training_texts: bool = True
    file_suffix: str = ".txt"
    validation_fraction: float = 0.02
    window: int = 100
    epochs: int = 1
    steps_per_epoch: int = 0
    batch_size: int = 64
    learning_rate: float = 0.003
    max_minutes: float = 0.0
    dropout_rate: float = 0.1
    sampled_words: int = 512
    transfer: Literal["encoder", "embedding"] = "encoder"
    freeze_epochs: int = 0

    @property
    def enabled(self) -> bool:
        """True when the task's model starts from a pretrained encoder."""
        return bool(self.source or self.path)

    def validate(self, name: str) -> None:
        where = sections.WHERE
        sections.check_range(where, f"{name}.validation_fraction", self.validation_fraction, 0, 0.5)
        sections.check_range(where, f"{name}.window", self.window, 2)
        sections.check_range(where, f"{name}.epochs", self.epochs, 1)
        sections.check_range(where, f"{name}.steps_per_epoch", self.steps_per_epoch, 0)
        sections.check_range(where, f"{name}.batch_size", self.batch_size, 1)
        sections.check_range(where, f"{name}.learning_rate", self.learning_rate, sections.MIN_LEARNING_RATE,
                             sections.MAX_LEARNING_RATE)
        sections.check_range(where, f"{name}.max_minutes", self.max_minutes, 0)
        sections.check_range(where, f"{name}.dropout_rate", self.dropout_rate, 0, sections.MAX_DROPOUT_RATE)
        sections.check_range(where, f"{name}.sampled_words", self.sampled_words, 1)
        sections.check_range(where, f"{name}.freeze_epochs", self.freeze_epochs, 0)
