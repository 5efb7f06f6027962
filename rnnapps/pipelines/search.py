"""The base of the tasks that write their output token by token with greedy or beam search (translation,
captioning): the `--beam` option checked once, and evaluation variants named after the beam."""

from __future__ import annotations

from rnnapps import sections
from rnnapps.errors import UserError
from rnnapps.pipelines import base


class SearchDecodingPipeline(base.Pipeline):
    """A pipeline that writes its output token by token with greedy or beam search (translation,
    captioning): the recipe's `[decoding]` section gives the default beam, `--beam` another."""

    def beam_size(self, beam_size: int | None) -> int:
        """The beam width to use: `beam_size`, or the recipe's decoding.beam_size for None.

        Raises:
            UserError: outside 1..64.
        """
        beam_size = self.recipe.decoding.beam_size if beam_size is None else beam_size
        if not 1 <= beam_size <= sections.MAX_BEAM_SIZE:
            raise UserError(f"the beam size (--beam) must be between 1 and {sections.MAX_BEAM_SIZE}, got {beam_size}")
        return beam_size

    def evaluation_variant(self, beam_size: int | None = None, **options) -> str:
        return f"beam{beam_size}" if beam_size not in (None, self.recipe.decoding.beam_size) else ""
