"""ONE decoding mechanism for every generative task: greedy search, beam search with a length penalty, and
sampling (temperature, top-k, top-p), each one compiled `keras.ops.while_loop` that runs on every backend and
inside the exported SavedModels.

A model that decodes itself (`Decodable`: the translator, the captioner, the language model) gives its
first state with `start_decoding(inputs)` and one step with `decoding_step`; a strategy object
(`GreedySearch`, `BeamSearch`, `Sampling`, built from a recipe and validated once) runs the loop:

    strategy = decoding.BeamSearch(beam_size=4, alpha=0.6)
    result = decoding.decode(model, source_ids, strategy, max_length=60)   # a `Decoded`

`loops` holds the loops themselves (`greedy`, `sample`, `beam_search`, `search`) for step functions of any kind.
"""

from rnnapps.decoding.loops import (  # noqa: F401
    Decoded,
    StepFn,
    beam_search,
    filter_logits,
    greedy,
    length_penalty,
    next_token_log_probs,
    sample,
    search,
    tile_for_beams,
    uniforms_for,
)
from rnnapps.decoding.strategies import (  # noqa: F401
    BeamSearch,
    Decodable,
    DecodingStart,
    GreedySearch,
    Sampling,
    Strategy,
    decode,
    search_strategy,
)
