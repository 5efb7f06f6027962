"""The reserved token ids every tokenizer and every model agree on: 0 padding, 1 unknown, 2 start, 3 end.

A module of their own, free of TensorFlow, so that the pure-Keras model code (layers, losses, decoding)
imports on any Keras backend, also on machines where TensorFlow is not installed.
"""

PAD_ID = 0
UNK_ID = 1
START_ID = 2
END_ID = 3
RESERVED_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")
