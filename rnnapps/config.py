"""Recipes: typed, strict configuration loaded from TOML with `--set section.key=value` overrides.

A recipe is a frozen dataclass whose fields are sections (dataclasses) shared between tasks
(`rnnapps.sections`: tokenizer, embedding, recurrent stack, training, decoding) or owned by a task.
Loading goes defaults < file < overrides; an unknown key or a value of the wrong type is a
`UserError` naming the key. Then every section validates itself (`sections.validate_sections`) and the
recipe checks what is its own (`validate()`). The resolved recipe is written with every run (`save_recipe`).
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

from rnnapps import atomic, sections
from rnnapps.errors import UserError

log = logging.getLogger(__name__)

RecipeT = TypeVar("RecipeT")


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
        UserError: the file is missing or not TOML, a key is unknown, a value has the wrong type or is out of
            range (each section's own ranges, `rnnapps.sections`, then the recipe's `validate()`).
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
    if overrides:
        # The file alone first, so that a mistake in it names the file, and one in an override names --set.
        from_dict(recipe_cls, values, where=where)
        where = "--set"
    for override in overrides:
        key, value = _parse_override(override)
        node = values
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {override}: '{part}' is not a section")
        node[leaf] = value
    recipe = from_dict(recipe_cls, values, where=where, rename_level=logging.DEBUG if overrides else logging.WARNING)
    validate(recipe)
    return recipe


def load_task_recipe(recipe_cls: type[RecipeT], task: str, path: str | pathlib.Path | None = None,
                     overrides: typing.Sequence[str] = ()) -> RecipeT:
    """`load_recipe`, and check that the recipe is one of `task`'s (its `task` field).

    Raises:
        UserError: as `load_recipe`, or the recipe is another task's (names the command to use).
    """
    recipe = load_recipe(recipe_cls, path, overrides)
    if recipe.task != task:
        raise UserError(f"{path}: task = {recipe.task!r}, but this is the {task!r} command; "
                        f"use 'rnnapps {recipe.task} train'")
    return recipe


def validate(recipe: Any) -> None:
    """Check a recipe: every shared section's own ranges (`sections.validate_sections`), then the task's
    `validate()`, which checks the task's own fields and how the sections fit together.

    Raises:
        UserError: the first value out of range, naming the field and the allowed range.
    """
    sections.validate_sections(recipe)
    own = getattr(recipe, "validate", None)
    if own is not None:
        own()


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
