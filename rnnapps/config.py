"""Recipes: typed, strict configuration loaded from TOML with `--set section.key=value` overrides.

A recipe is a frozen dataclass whose fields are sections (dataclasses) shared between tasks
(`TokenizerConfig`, `EmbeddingConfig`, `RecurrentConfig`, `TrainingConfig`) or owned by a task.
Loading goes defaults < file < overrides; an unknown key or a value of the wrong type is a
`UserError` naming the key. The resolved recipe is written with every run (`save_recipe`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import pathlib
import tomllib
import types
import typing
from typing import Any, Literal, TypeVar

import tomli_w

from rnnapps import atomic
from rnnapps.errors import UserError

log = logging.getLogger(__name__)

RecipeT = TypeVar("RecipeT")


# --------------------------------------------------------------------------- shared sections


@dataclasses.dataclass(frozen=True)
class TokenizerConfig:
    """How text becomes token ids (see `rnnapps.tokenizers`).

    Attributes:
        kind: "char", "word" or "subword" (SentencePiece).
        vocab_size: largest vocabulary, reserved tokens included.
        min_frequency: word/char tokenizers drop tokens seen fewer times in the training split.
        lowercase: fold case before tokenizing.
        subword_model: SentencePiece algorithm, "unigram" or "bpe".
        character_coverage: SentencePiece share of characters kept (1.0 for small alphabets).
        path: load an already fitted tokenizer from this directory instead of fitting one.
    """

    kind: Literal["char", "word", "subword"] = "word"
    vocab_size: int = 20000
    min_frequency: int = 1
    lowercase: bool = True
    subword_model: Literal["unigram", "bpe"] = "unigram"
    character_coverage: float = 1.0
    path: str = ""


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig:
    """Token embedding (see `rnnapps.embeddings`).

    Attributes:
        dim: embedding width.
        dropout_rate: dropout on embedded tokens.
        pretrained_path: GloVe or word2vec text file aligned to the vocabulary ("" for none).
        trainable: fine-tune the embedding (False freezes pretrained vectors).
    """

    dim: int = 128
    dropout_rate: float = 0.0
    pretrained_path: str = ""
    trainable: bool = True


@dataclasses.dataclass(frozen=True)
class RecurrentConfig:
    """A stack of recurrent layers (see `rnnapps.layers.RecurrentStack`).

    Attributes:
        cell: "simple_rnn", "lstm" or "gru".
        units: units per direction per layer.
        num_layers: stacked layers.
        bidirectional: read the sequence both ways (encoders and classifiers only).
        dropout_rate: dropout between stacked layers.
        recurrent_dropout_rate: dropout on the recurrent state; > 0 disables the fused cuDNN kernel.
    """

    cell: Literal["simple_rnn", "lstm", "gru"] = "gru"
    units: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    dropout_rate: float = 0.0
    recurrent_dropout_rate: float = 0.0


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """How the shared trainer fits a model (see `rnnapps.training`).

    Attributes:
        epochs: most epochs to train.
        batch_size: examples per batch (global, across replicas).
        learning_rate: Adam learning rate (the peak rate with a schedule).
        lr_schedule: "constant", or "cosine" decay from learning_rate to 0 over all epochs' steps.
        clip_norm: clip each gradient's norm (0 disables).
        clip_value: clip gradient values to [-v, v] (0 disables).
        weight_decay: decoupled weight decay (AdamW) per step, scaled by the learning rate (0 = plain Adam).
        early_stopping_patience: stop after this many epochs without improvement (0 disables).
        monitor: metric watched for early stopping and the best checkpoint.
        bucketing: batch sequences of similar length together (fewer padded steps).
        num_buckets: length buckets when bucketing.
        shuffle_buffer: examples in the shuffle buffer.
        full_batches: training batches all of batch_size examples, the remainder of each length bucket left to
            a later epoch's draw: "auto" (when that leaves out at most 2% of an epoch's examples on average),
            "always" or "never". A batch size the train step knows in advance makes every CPU step faster
            (about 15% on the IMDB recipe, benchmarks/RESULTS.md).
        precision: "float32", "mixed_float16" or "mixed_bfloat16".
        distribute: "auto" (mirrored over several GPUs; multi-process when RNNAPPS_NUM_PROCESSES > 1), "none",
            "mirrored" (all local devices) or "multi_process" (data-parallel over processes and machines, on
            JAX: rnnapps.distributed).
        coordinator: multi-process: process 0's host:port ("" = RNNAPPS_COORDINATOR).
        num_processes: multi-process: how many processes train together (0 = RNNAPPS_NUM_PROCESSES).
        process_id: multi-process: this process's id (-1 = RNNAPPS_PROCESS_ID); process 0 writes every file.
        step_timeout_s: multi-process: a process stops when no step has finished for this long (another one
            has most likely stopped).
        tensorboard: write TensorBoard logs into the run directory.
        max_minutes: stop after the epoch that crosses this training time (0 = no limit).
        steps_per_epoch: limit batches per epoch (0 = the whole dataset); for smoke runs.
    """

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: Literal["constant", "cosine"] = "constant"
    clip_norm: float = 1.0
    clip_value: float = 0.0
    weight_decay: float = 0.0
    early_stopping_patience: int = 3
    monitor: str = "val_loss"
    bucketing: bool = True
    num_buckets: int = 8
    shuffle_buffer: int = 50000
    full_batches: Literal["auto", "always", "never"] = "auto"
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"
    distribute: Literal["auto", "none", "mirrored", "multi_process"] = "auto"
    coordinator: str = ""
    num_processes: int = 0
    process_id: int = -1
    step_timeout_s: float = 300.0
    tensorboard: bool = False
    max_minutes: float = 0.0
    steps_per_epoch: int = 0


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """How the generative tasks with an end token (translation, captioning) decode.

    Attributes:
        beam_size: hypotheses kept by beam search (1 = greedy).
        alpha: length-penalty exponent of beam search (0 = none).
        max_output_length: most tokens generated (0 = the task's default).
    """

    beam_size: int = 4
    alpha: float = 0.6
    max_output_length: int = 0


# --------------------------------------------------------------------------- loading


def load_recipe(
    recipe_cls: type[RecipeT],
    path: str | pathlib.Path | None = None,
    overrides: typing.Sequence[str] = (),
) -> RecipeT:
    """Load a recipe: dataclass defaults < TOML file < `section.key=value` overrides.

    Args:
        recipe_cls: the task's recipe dataclass.
        path: a TOML file, or None for the defaults.
        overrides: strings such as "model.units=256" or 'data.source="x.tsv"'; the value is read
            as TOML and falls back to a plain string.

    Returns:
        A frozen, validated instance of `recipe_cls`.

    Raises:
        UserError: the file is missing or not TOML, a key is unknown, or a value has the wrong type.
    """
    values: dict[str, Any] = {}
    where = "the recipe"
    if path is not None:
        path = pathlib.Path(path)
        where = str(path)
        if not path.is_file():
            raise UserError(f"recipe file {path} does not exist")
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"recipe {path} is not valid TOML: {error}") from None
    for override in overrides:
        key, value = _parse_override(override)
        node = values
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {override}: '{part}' is not a section")
        node[leaf] = value
    recipe = from_dict(recipe_cls, values, where=where)
    validate = getattr(recipe, "validate", None)
    if validate is not None:
        validate()
    return recipe


def _parse_override(override: str) -> tuple[str, Any]:
    key, sep, raw = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set expects section.key=value, got {override!r}")
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def from_dict(cls: type[RecipeT], values: dict[str, Any], where: str = "the recipe", prefix: str = "",
              base: Any = None, rename_level: int = logging.WARNING) -> RecipeT:
    """Build dataclass `cls` from nested dicts, rejecting unknown keys and wrongly typed values.

    Args:
        cls: a (frozen) dataclass type whose fields may be dataclasses themselves.
        values: nested mapping, e.g. parsed TOML.
        where: the source named in error messages.
        prefix: dotted path of `values` inside the whole recipe, for error messages.
        base: an instance whose values stand for keys `values` leaves out (default: cls's defaults).
        rename_level: the log level of the notes on renamed keys (see `apply_renames`); a bundle's recipe,
            which the user does not edit, is read with INFO.

    Returns:
        An instance of `cls`.
    """
    if not isinstance(values, dict):
        raise UserError(f"{where}: '{prefix.rstrip('.')}' must be a section (a TOML table)")
    if not prefix:
        values = apply_renames(values, getattr(cls, "renamed_keys", {}), where, rename_level)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserError(
            f"{where}: unknown key '{prefix}{unknown[0]}'; known keys in "
            f"{'[' + prefix.rstrip('.') + ']' if prefix else 'the top level'}: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            # A section given in part keeps the task's own defaults for the rest (a recipe's
            # default_factory may differ from the section class's defaults).
            section_base = getattr(base, name) if base is not None else _field_default(fields[name])
            kwargs[name] = from_dict(hint, value, where, f"{prefix}{name}.", section_base)
        else:
            kwargs[name] = _coerce(value, hint, f"{prefix}{name}", where)
    return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)


def apply_renames(values: dict[str, Any], renamed: dict[str, str], where: str,
                  level: int = logging.WARNING) -> dict[str, Any]:
    """Move keys and sections a recipe class has renamed to their new place, so recipes and bundles written
    before a rename keep working; each old name used is logged once with its new name.

    Args:
        values: the nested recipe mapping (not changed; a changed copy is returned).
        renamed: old dotted key -> new dotted key, e.g. {"decode": "decoding", "model.encoder": "encoder"}
            (a recipe class's `renamed_keys`).
        where: the source named in messages.
        level: the log level of the note on each old name used.

    Returns:
        The mapping with every old key moved to its new name.

    Raises:
        UserError: a recipe gives both the old and the new name.
    """
    values = copy.deepcopy(values)
    for old, new in renamed.items():
        *old_parents, old_leaf = old.split(".")
        node = values
        for part in old_parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or old_leaf not in node:
            continue
        moved = node.pop(old_leaf)
        if not node and old_parents:  # the section held only renamed keys: drop it too
            parent = values
            for part in old_parents[:-1]:
                parent = parent[part]
            parent.pop(old_parents[-1])
        *new_parents, new_leaf = new.split(".")
        target = values
        for part in new_parents:
            target = target.setdefault(part, {})
        if isinstance(moved, dict) and isinstance(target.get(new_leaf), dict):
            clash = sorted(set(moved) & set(target[new_leaf]))
            if clash:
                raise UserError(f"{where}: '{old}.{clash[0]}' and '{new}.{clash[0]}' are the same setting "
                                f"('{old}' is the old name of '{new}'); keep only '{new}.{clash[0]}'")
            target[new_leaf] = {**target[new_leaf], **moved}
        elif new_leaf in target:
            raise UserError(f"{where}: '{old}' and '{new}' are the same setting ('{old}' is its old name); "
                            f"keep only '{new}'")
        else:
            target[new_leaf] = moved
        log.log(level, "%s: '%s' is now called '%s'; the old name still works, but please rename it", where, old, new)
    return values


def _field_default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise UserError(f"{where}: {key} = {value!r} is not one of {choices}")
        return value
    if origin in (types.UnionType, typing.Union):
        for option in args:
            try:
                return _coerce(value, option, key, where)
            except UserError:
                continue
        raise UserError(f"{where}: {key} = {value!r} has the wrong type (expected {hint})")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: {key} must be a list, got {value!r}")
        item_hint = args[0] if args else Any
        return tuple(_coerce(item, item_hint, f"{key}[{i}]", where) for i, item in enumerate(value))
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool):
        raise UserError(f"{where}: {key} = {value!r} must be a number")
    if not isinstance(value, hint):
        raise UserError(f"{where}: {key} = {value!r} must be of type {hint.__name__}")
    return value


def recipe_to_dict(recipe: Any) -> dict[str, Any]:
    """Return the recipe as nested plain dicts and lists (TOML/JSON ready)."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(recipe))


def save_recipe(recipe: Any, path: str | pathlib.Path) -> None:
    """Write the resolved recipe as TOML (atomically), so a run can be reproduced exactly."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = tomli_w.dumps(recipe_to_dict(recipe))
    atomic.write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def check_range(where: str, key: str, value: float, low: float | None = None, high: float | None = None) -> None:
    """Raise `UserError` unless low <= value <= high (either bound may be None)."""
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f">= {low}" if low is not None else f"<= {high}")
        raise UserError(f"{where}: {key} = {value!r} must be {bounds}")
