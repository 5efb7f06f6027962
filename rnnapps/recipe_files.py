"""The recipes that ship with rnnapps (package data in `rnnapps/recipes/`, which a checkout also shows as
`tasks/`), and how `--recipe` finds one: a path to a TOML file, or the name of a built-in recipe.

Relative data paths inside a recipe (`data.source = "../shared/data/..."`) are read from the directory rnnapps
runs in, wherever the recipe file itself lives.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tomllib

from rnnapps.errors import UserError

BUILTIN_DIR = pathlib.Path(__file__).resolve().parent / "recipes"
SUFFIX = ".toml"
SUMMARY_LENGTH = 100


@dataclasses.dataclass(frozen=True)
class BuiltinRecipe:
    """A recipe shipped with rnnapps.

    Attributes:
        name: what `--recipe` accepts ("sentiment-imdb").
        task: the task it trains.
        path: the TOML file.
        summary: the first sentence of its opening comment, at most `SUMMARY_LENGTH` characters.
    """

    name: str
    task: str
    path: pathlib.Path
    summary: str


def builtin() -> list[BuiltinRecipe]:
    """Every built-in recipe, sorted by name."""
    found = []
    for path in sorted(BUILTIN_DIR.glob(f"*{SUFFIX}")):
        text = path.read_text(encoding="utf-8")
        found.append(BuiltinRecipe(path.stem, str(tomllib.loads(text).get("task", "?")), path, _summary(text)))
    return found


def _summary(text: str) -> str:
    """The first sentence of the comment lines a recipe opens with, cut at a word to `SUMMARY_LENGTH`."""
    opening = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        opening.append(line.lstrip("#").strip())
    sentence = " ".join(opening).split(". ")[0].rstrip(".")
    if len(sentence) <= SUMMARY_LENGTH:
        return sentence
    return sentence[:SUMMARY_LENGTH - 3].rsplit(" ", 1)[0].rstrip(",;:(") + "..."


def resolve(recipe: str | pathlib.Path) -> pathlib.Path:
    """The recipe file that `--recipe VALUE` means: an existing file, else a built-in recipe of that name
    (with or without ".toml").

    Raises:
        UserError: neither, naming the built-in recipes.
    """
    path = pathlib.Path(recipe).expanduser()
    if path.is_file():
        return path
    name = path.name.removesuffix(SUFFIX)
    if path.parent == pathlib.Path(".") and (BUILTIN_DIR / f"{name}{SUFFIX}").is_file():
        return BUILTIN_DIR / f"{name}{SUFFIX}"
    if path.parent != pathlib.Path("."):
        raise UserError(f"recipe file {path} does not exist")
    names = ", ".join(entry.name for entry in builtin())
    raise UserError(f"recipe {str(recipe)!r} does not exist: it is neither a file (looked in {pathlib.Path.cwd()}) "
                    f"nor a built-in recipe; built-in recipes: {names} ('rnnapps recipes' describes them)")


def demo_recipe(file_name: str) -> pathlib.Path:
    """The built-in demo recipe `file_name` ("sentiment-demo.toml")."""
    return BUILTIN_DIR / file_name
