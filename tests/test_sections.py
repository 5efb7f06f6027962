"""The shared recipe sections validate themselves, once, for every task: a bad value of a shared field is refused
by `train` before anything is read or written, with one line naming the field and the allowed range.

The cases are derived from each registered task's demo recipe, so a new task is covered without touching this
file."""

import dataclasses
import re

import pytest
from click.testing import CliRunner

from rnnapps import cli, config, recipe_files, registry, sections
from rnnapps.errors import UserError

# Field name (in any section of a recipe) -> values no recipe may hold.
BAD_VALUES = {
    "epochs": [0, -1],
    "batch_size": [0, -3],
    "learning_rate": [0, -0.001],
    "clip_norm": [-1.0],
    "clip_value": [-1.0],
    "beam_size": [0, sections.MAX_BEAM_SIZE + 1],
    "alpha": [-0.5],
    "vocab_size": [0],
    "units": [0],
    "num_layers": [0, sections.MAX_LAYERS + 1],
}
BAD_DROPOUT_RATES = [-0.1, 1.0]  # for every field whose name ends in dropout_rate
RANGE = r"(between \S+ and \S+|>= \S+|<= \S+)"


def bad_settings(recipe) -> list[tuple[str, object]]:
    """(dotted key, bad value) for every shared field a recipe has, in every section."""
    cases = []
    for section in dataclasses.fields(recipe):
        value = getattr(recipe, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        for field in dataclasses.fields(value):
            bad = BAD_DROPOUT_RATES if field.name.endswith("dropout_rate") else BAD_VALUES.get(field.name, [])
            cases += [(f"{section.name}.{field.name}", item) for item in bad]
    return cases


@pytest.mark.parametrize("task_name", list(registry.tasks()))
def test_train_refuses_every_bad_shared_setting_in_one_line_and_writes_nothing(task_name, tmp_path):
    entry = registry.get(task_name)
    recipe_path = recipe_files.demo_recipe(entry.demo_recipe)
    cases = bad_settings(entry.pipeline_class().load_recipe(recipe_path))
    # Every task has a [training] section; most have more shared sections.
    assert {"training.epochs", "training.batch_size", "training.learning_rate", "training.clip_norm"} <= {
        key for key, _ in cases}
    wrong = []
    for key, value in cases:
        out = tmp_path / f"{key}-{value}"
        result = CliRunner().invoke(cli.cli, ["-q", task_name, "train", "--recipe", str(recipe_path),
                                              "--set", f"{key}={value}", "--out", str(out)])
        lines = result.output.strip().splitlines()
        expected = rf"error: recipe: {re.escape(key)} = \S+ must be {RANGE}( .*)?"
        if result.exit_code != 2 or len(lines) != 1 or not re.fullmatch(expected, lines[0]) or out.exists():
            wrong.append(f"--set {key}={value}: exit {result.exit_code}, run directory left: {out.exists()}, "
                         f"output {result.output!r}")
    assert not wrong, "\n".join(wrong)


def test_each_shared_section_checks_its_own_ranges_under_its_name_in_the_recipe():
    with pytest.raises(UserError, match=r"^recipe: target_tokenizer\.vocab_size = 0 must be >= 5$"):
        sections.TokenizerConfig(vocab_size=0).validate("target_tokenizer")
    with pytest.raises(UserError, match=r"^recipe: decoding\.beam_size = 65 must be between 1 and 64$"):
        sections.DecodeConfig(beam_size=65).validate("decoding")
    with pytest.raises(UserError, match=r"^recipe: encoder\.dropout_rate = 1\.0 must be between 0 and 0\.95$"):
        sections.RecurrentConfig(dropout_rate=1.0).validate("encoder")
    with pytest.raises(UserError, match=r"^recipe: training\.learning_rate = nan must be between 1e-08 and 10$"):
        sections.TrainingConfig(learning_rate=float("nan")).validate("training")
    for section in (sections.TokenizerConfig(), sections.EmbeddingConfig(), sections.RecurrentConfig(),
                    sections.TrainingConfig(), sections.DecodeConfig()):
        section.validate("any")  # the defaults are valid


def test_the_loader_validates_the_sections_before_the_recipe_checks_its_own_fields():
    @dataclasses.dataclass(frozen=True)
    class Recipe:
        training: sections.TrainingConfig = dataclasses.field(default_factory=sections.TrainingConfig)
        checked: list = dataclasses.field(default_factory=list)

        def validate(self):
            self.checked.append("recipe")

    with pytest.raises(UserError, match=r"training\.epochs = 0"):
        config.load_recipe(Recipe, overrides=["training.epochs=0"])
    assert config.load_recipe(Recipe).checked == ["recipe"]
