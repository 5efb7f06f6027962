"""The translation task's data types: sentence pairs and their train / validation / test splits (a module of
their own, so that the readers in `data` and the generator in `demo_data` share them without importing each
other)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class SentencePairs:
    """Parallel lists of source sentences and their translations (surrounding whitespace removed)."""

    sources: list[str]
    targets: list[str]

    def __len__(self) -> int:
        return len(self.sources)

    def subset(self, indices) -> SentencePairs:
        """The pairs at `indices`, in that order.

        Args:
            indices: positions (a list or an integer array).

        Returns:
            A new `SentencePairs`.
        """
        return SentencePairs([self.sources[i] for i in indices], [self.targets[i] for i in indices])

    def grouped(self) -> tuple[list[str], list[list[str]]]:
        """Every distinct source sentence with all its translations, for multi-reference metrics.

        Returns:
            (unique_sources, references): the distinct sources in order of first appearance, and for
            each the distinct targets paired with it, in order of appearance (a pair that occurs twice
            gives one reference: a repeated reference changes neither BLEU nor chrF).

        Example:
            SentencePairs(["a", "b", "a"], ["x", "y", "z"]).grouped() == (["a", "b"], [["x", "z"], ["y"]])
        """
        position: dict[str, int] = {}
        unique_sources: list[str] = []
        references: list[list[str]] = []
        for source, target in zip(self.sources, self.targets):
            if source not in position:
                position[source] = len(unique_sources)
                unique_sources.append(source)
                references.append([])
            found = references[position[source]]
            if target not in found:
                found.append(target)
        return unique_sources, references


@dataclasses.dataclass
class TranslationSplits:
    """Train / validation / test sentence pairs."""

    train: SentencePairs
    validation: SentencePairs
    test: SentencePairs
