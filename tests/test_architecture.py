"""The shape of the package (ARCHITECTURE.md): no import circles, a shared core that never imports a task,
modules of one job each, and a CLI and an exporter that know no task."""

import ast
import inspect
import pathlib

from rnnapps import registry

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "rnnapps"
TASKS_PACKAGE = "rnnapps.pipelines"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> rnnapps modules it imports anywhere (function-level imports included)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        # A module importing its own package (a parent's face) is not a dependency circle.
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def _task_packages() -> set[str]:
    return set(registry.TASK_PACKAGES)


def _in_task(module: str) -> bool:
    return any(module == task or module.startswith(task + ".") for task in _task_packages())


def test_no_import_circles():
    graph = _imports()
    visiting, done, circles = [], set(), []

    def visit(module):
        if module in visiting:
            circles.append(visiting[visiting.index(module):] + [module])
            return
        if module in done:
            return
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert not circles, circles


def test_the_shared_core_never_imports_a_task():
    offending = {module: sorted(t for t in targets if _in_task(t)) for module, targets in _imports().items()
                 if not _in_task(module)}
    assert not {module: targets for module, targets in offending.items() if targets}


def test_tasks_do_not_import_each_other():
    for module, targets in _imports().items():
        if _in_task(module):
            own = next(task for task in _task_packages() if module == task or module.startswith(task + "."))
            assert not [t for t in targets if _in_task(t) and not (t == own or t.startswith(own + "."))], module


def test_every_module_has_one_job_and_under_400_lines():
    long = {str(path.relative_to(PACKAGE)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long


def test_cli_and_export_know_no_task():
    names = [spec.name for spec in registry.tasks().values()]
    for module in ("cli.py", "export.py"):
        source = (PACKAGE / module).read_text(encoding="utf-8")
        assert not [name for name in names if f'"{name}"' in source or f"'{name}'" in source
                    or f"{name} " in source or f"pipelines.{name}" in source], module
    tree = ast.parse((PACKAGE / "export.py").read_text(encoding="utf-8"))
    assert not [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


def test_every_task_declares_itself_without_tensorflow():
    import subprocess
    import sys

    script = ("import sys; from rnnapps import bundle, cli, registry; specs = registry.tasks(); "
              "assert 'tensorflow' not in sys.modules, 'a task declaration imported TensorFlow'; "
              "[spec.recipe_class() for spec in specs.values()]; "
              "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'a recipe module imported them'; "
              "print(' '.join(specs))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == [spec.name for spec in registry.tasks().values()]


def test_the_task_contract_imports_nothing_from_the_layers_built_on_it():
    # pipelines/base.py is the contract the tasks build on: a shared module below it never reaches back up into
    # it (pretraining once took its tokenizer fitting from there).
    contract = f"{TASKS_PACKAGE}.base"
    reaching_up = sorted(module for module, targets in _imports().items()
                         if contract in targets and not module.startswith(TASKS_PACKAGE + "."))
    assert not reaching_up


def _methods_defined(name: str) -> list[str]:
    """Modules of the package whose classes define a method called `name`."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(item, ast.FunctionDef) and item.name == name for item in node.body):
                found.append(f"{_module_name(path)}.{node.name}")
    return sorted(found)


def test_export_and_predict_are_written_once_in_the_contract():
    # A task builds its serving module (make_serving); the contract exports it and predicts through it. A task
    # may only re-declare predict to document its options, and then it hands straight back to the contract.
    assert _methods_defined("export") == [f"{TASKS_PACKAGE}.base.Pipeline"]
    for spec in registry.tasks().values():
        pipeline_cls = spec.pipeline_class()
        assert "export" not in vars(pipeline_cls), spec.name
        assert "make_serving" in vars(pipeline_cls), spec.name
        if "predict" in vars(pipeline_cls):
            assert "super().predict(" in inspect.getsource(vars(pipeline_cls)["predict"]), spec.name


def test_each_task_declares_its_pipelines_recipe_class():
    for spec in registry.tasks().values():
        assert spec.recipe_class() is spec.pipeline_class().recipe_cls, spec.name
