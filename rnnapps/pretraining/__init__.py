"""Pretraining for text tasks: train the token embedding and recurrent encoder a task's model uses as a
language model on unlabelled text (next word, and previous word for a bidirectional encoder), keep it as a
reusable bundle, and start the task's model from it (Dai and Le 2015; Howard and Ruder 2018).

Modules: `config` (the `[pretraining]` recipe section), `model` (`EncoderLanguageModel`, the sampled
softmax), `pretrain` (reading the text, training with the shared trainer, the bundle) and `transfer`
(copying the weights into a task model, freezing them for the first epochs).
"""
