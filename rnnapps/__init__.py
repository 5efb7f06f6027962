"""rnnapps: recurrent-network applications (four NLP tasks and time-series forecasting) on Keras 3.

Tasks (sentiment, translate, generate, caption, forecast) share tokenizers, embeddings, recurrent layers,
datasets, one trainer, one bundle format and one export path. See README.md and DESIGN.md.
"""

__version__ = "0.1.0"
