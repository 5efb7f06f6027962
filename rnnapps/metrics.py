"""Task metrics people know: accuracy, precision/recall/F1 and the confusion matrix for classifiers;
sacreBLEU and chrF for translation; caption BLEU-1..4; nats and bits per character and perplexity for
language models; CER and WER for speech recognition."""

from __future__ import annotations

import math

import numpy as np


def confusion_matrix(true_ids, predicted_ids, num_classes: int) -> np.ndarray:
    """Counts [num_classes, num_classes]: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true_ids, dtype=np.int64), np.asarray(predicted_ids, dtype=np.int64)), 1)
    return matrix


def classification_report(true_ids, predicted_ids, label_names: list[str]) -> dict:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        true_ids: int array-like [examples] of true class ids.
        predicted_ids: int array-like [examples] of predicted class ids.
        label_names: class names, position = class id.

    Returns:
        A JSON-ready dict: {"accuracy", "macro_f1", "examples", "per_class": {name: {...}},
        "confusion_matrix": [[...]], "labels": [...]}.
    """
    matrix = confusion_matrix(true_ids, predicted_ids, len(label_names))
    true_counts, predicted_counts, hits = matrix.sum(1), matrix.sum(0), np.diag(matrix)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted_counts > 0, hits / predicted_counts, 0.0)
        recall = np.where(true_counts > 0, hits / true_counts, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    total = int(matrix.sum())
    return {
        "accuracy": float(hits.sum() / total) if total else 0.0,
        "macro_f1": float(f1.mean()),
        "examples": total,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(true_counts[i])}
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": matrix.tolist(),
        "labels": list(label_names),
    }


def translation_scores(hypotheses: list[str], references: list[list[str]]) -> dict:
    """Corpus sacreBLEU and chrF against every reference of each sentence.

    Args:
        hypotheses: one system output per source sentence.
        references: for each source sentence, its list of reference translations (any number >= 1).

    Returns:
        {"bleu" (cased, sacreBLEU's default), "chrf", "bleu_lowercase" (case-insensitive BLEU) (0-100),
         "bleu_signature", "chrf_signature", "sentences", "references_per_sentence"}.
    """
    import sacrebleu  # imported here: only the generative tasks need it

    streams = _reference_streams(hypotheses, references)
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    return {
        "bleu": bleu.corpus_score(hypotheses, streams).score,
        "chrf": chrf.corpus_score(hypotheses, streams).score,
        "bleu_lowercase": sacrebleu.metrics.BLEU(lowercase=True).corpus_score(hypotheses, streams).score,
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "sentences": len(hypotheses),
        "references_per_sentence": sum(len(r) for r in references) / max(len(references), 1),
    }


def _reference_streams(hypotheses: list[str], references: list[list[str]]) -> list[list[str | None]]:
    """sacreBLEU's reference *streams* (stream i = every sentence's i-th reference; None where a sentence
    has fewer references)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    most = max((len(r) for r in references), default=1)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(most)]


def caption_scores(hypotheses: list[str], references: list[list[str]], lowercase: bool = False) -> dict:
    """Corpus BLEU-1 to BLEU-4 of captions against every reference of each image, on the 0-1 scale that
    captioning papers use (sacreBLEU's BLEU with max n-gram order 1..4, 13a tokenization).

    Args:
        hypotheses: one generated caption per image.
        references: for each image, its reference captions (any number >= 1).
        lowercase: compare case-insensitively (captions from a lowercasing tokenizer).

    Returns:
        {"bleu_1", "bleu_2", "bleu_3", "bleu_4" (0-1), "bleu_signature" (of BLEU-4), "images",
         "references_per_image"}.
    """
    import sacrebleu

    streams = _reference_streams(hypotheses, references)
    scores: dict = {}
    for order in range(1, 5):
        bleu = sacrebleu.metrics.BLEU(max_ngram_order=order, lowercase=lowercase)
        scores[f"bleu_{order}"] = bleu.corpus_score(hypotheses, streams).score / 100.0
    scores["bleu_signature"] = str(bleu.get_signature())
    scores["images"] = len(hypotheses)
    scores["references_per_image"] = sum(len(r) for r in references) / max(len(references), 1)
    return scores


def language_model_scores(total_nats: float, tokens: int) -> dict:
    """Cross-entropy summaries of a language model on a text.

    Args:
        total_nats: summed negative natural-log likelihood of every predicted token.
        tokens: number of predicted tokens.

    Returns:
        {"nats_per_token", "bits_per_token" (nats / ln 2), "perplexity" (e ** nats), "tokens"}.
    """
    if tokens <= 0:
        raise ValueError("no tokens were scored")
    nats = total_nats / tokens
    return {"nats_per_token": nats, "bits_per_token": nats / math.log(2), "perplexity": math.exp(nats),
            "tokens": int(tokens)}


def regression_errors(predicted, actual) -> dict:
    """Mean squared and absolute error and their root, over every element (forecasts: windows, steps, channels).

    Args:
        predicted: float array, any shape.
        actual: float array of the same shape.

    Returns:
        {"mse", "mae", "rmse"} as floats.
    """
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    mse = float(np.mean(error ** 2))
    return {"mse": mse, "mae": float(np.mean(np.abs(error))), "rmse": math.sqrt(mse)}


def pinball_loss(predicted, actual, level: float) -> float:
    """Mean quantile (pinball) loss of quantile-`level` forecasts: level * e for e = actual - predicted >= 0,
    (level - 1) * e below; 0.5 gives half the absolute error."""
    error = np.asarray(actual, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    return float(np.mean(np.maximum(level * error, (level - 1) * error)))


def interval_coverage(lower, upper, actual) -> float:
    """Share of actual values inside [lower, upper] (a prediction interval's empirical coverage)."""
    actual = np.asarray(actual)
    return float(np.mean((actual >= np.asarray(lower)) & (actual <= np.asarray(upper))))


def mean_absolute_scaled_error(predicted, actual, scale) -> float:
    """MASE (Hyndman and Koehler 2006): the forecast's mean absolute error per channel over `scale`, the
    in-sample mean absolute error of a (seasonal) naive forecast on the training rows, averaged over channels.

    Args:
        predicted, actual: float [..., channels].
        scale: float [channels].
    """
    error = np.abs(np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64))
    per_channel = error.reshape(-1, error.shape[-1]).mean(axis=0)
    return float(np.mean(per_channel / np.maximum(np.asarray(scale, dtype=np.float64), 1e-12)))


def speech_scores(references: list[str], hypotheses: list[str]) -> dict:
    """Character and word error rates (jiwer: edit operations over all references' characters or words), and the
    share of recordings transcribed exactly, of speech recognition output; both sides normalised alike.

    Args:
        references: the true transcripts, none empty.
        hypotheses: the recognised texts, one per reference.

    Returns:
        {"cer", "wer", "exact", "recordings", "words"}: rates as fractions (0.05 = 5%).
    """
    import jiwer  # only speech scores need it

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        return {"cer": 0.0, "wer": 0.0, "exact": 0.0, "recordings": 0, "words": 0}
    exact = sum(reference == hypothesis for reference, hypothesis in zip(references, hypotheses))
    return {"cer": float(jiwer.cer(references, hypotheses)), "wer": float(jiwer.wer(references, hypotheses)),
            "exact": exact / len(references), "recordings": len(references),
            "words": sum(len(reference.split()) for reference in references)}
