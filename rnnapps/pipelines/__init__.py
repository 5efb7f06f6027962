"""Task pipelines. Each task is registered here, explicitly."""

from rnnapps import registry

registry.register(
    "sentiment",
    "Text classification (many-to-one): text -> label + probability.",
    "rnnapps.pipelines.sentiment:SentimentPipeline",
    demo_recipe="sentiment-demo.toml",
)

registry.register(
    "translate",
    "Translation (many-to-many): seq2seq with Bahdanau/Luong attention, greedy and beam search.",
    "rnnapps.pipelines.translate:TranslatePipeline",
    demo_recipe="translate-demo.toml",
)

registry.register(
    "generate",
    "Character-level generation: a char-RNN language model sampled with temperature, top-k and top-p.",
    "rnnapps.pipelines.generate:GeneratePipeline",
    demo_recipe="generate-demo.toml",
    use_command="sample",
)

registry.register(
    "caption",
    "Image captioning (one-to-many): CNN encoder + RNN decoder with visual attention, beam search.",
    "rnnapps.pipelines.caption:CaptionPipeline",
    demo_recipe="caption-demo.toml",
    inputs="image files (JPEG, PNG, GIF, BMP, WebP) or folders of them",
)
