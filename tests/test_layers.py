"""The architecture as import rules: a layer imports only from the layers below it.

foundation → stats → metrics, verdicts → data, runtime → training, evaluation → rating
→ cli, ui (see ../shared/DESIGN.md). Every import counts, at the top of a module or
inside a function, because a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ftcore"
FOUNDATION = (
    "errors", "workspace", "db", "migrations", "files", "progress", "chat_format", "nll",
    "text_table",
)  # fmt: skip
LAYERS = {
    **dict.fromkeys(FOUNDATION, 0),
    "stats": 1,
    "metrics": 2,
    "verdicts": 2,
    "data": 3,
    "runtime": 3,
    "training": 4,
    "evaluation": 4,
    "rating": 5,
    "cli": 6,
    "ui": 6,
    "deploy": 6,  # a Space folder and its session bundles: over rating, for cli and ui
}


def unit_of(module: str) -> str:
    """`ftcore.metrics.rouge` → "metrics"; `ftcore.db` → "db"; `ftcore` → ""."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in a file, relative ones resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from ftcore.training import run_table` imports ftcore.training.run_table
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            found.append((node.lineno, base))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def violations(path: Path) -> list[str]:
    name = module_name(path)
    unit = unit_of(name)
    problems = []
    for line, imported in imports_of(path):
        where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}"
        root = imported.split(".")[0]
        if root == "gradio" and unit != "ui":
            problems.append(f"{where}: only ftcore/ui may import gradio")
        if root != "ftcore" or imported == "ftcore":
            continue
        target = unit_of(imported)
        if target not in LAYERS:  # e.g. `from ftcore import __version__`
            continue
        if unit == "stats" and target not in ("stats", "errors"):
            problems.append(f"{where}: stats imports nothing of ftcore but errors")
        elif unit in LAYERS and LAYERS[target] > LAYERS[unit]:
            problems.append(f"{where}: {unit} (layer {LAYERS[unit]}) is below {target}")
        if name.endswith("_tab") and imported.endswith("_tab") and imported != name:
            problems.append(f"{where}: a tab never imports another tab")
    return problems


def test_every_package_has_a_layer():
    units = {unit_of(module_name(p)) for p in MODULES} - {""}
    assert units <= LAYERS.keys()


def test_no_module_imports_from_a_layer_above_it():
    assert [problem for path in MODULES for problem in violations(path)] == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("ftcore/stats/x.py", "from ftcore.metrics import rouge", "stats imports nothing"),
        ("ftcore/metrics/x.py", "from ftcore.training import jobs", "metrics (layer 2)"),
        ("ftcore/data/x.py", "import gradio as gr", "only ftcore/ui may import gradio"),
        ("ftcore/ui/a_tab.py", "from ftcore.ui.b_tab import x", "never imports another tab"),
        ("ftcore/db.py", "from ftcore.runtime import models", "db (layer 0)"),
    ],
)
def test_the_rules_catch_what_they_should(tmp_path, monkeypatch, path, source, expected):
    fake_package = tmp_path / "ftcore"
    file = tmp_path / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source + "\n", "utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake_package)
    assert any(expected in problem for problem in violations(file))


def test_module_names_are_unique_across_packages():
    names: dict[str, list[str]] = {}
    for path in MODULES:
        if path.name != "__init__.py":
            names.setdefault(path.stem, []).append(str(path.relative_to(PACKAGE)))
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    shared = {stem: where for stem, where in names.items() if len(where) > 1 or stem in packages}
    assert shared == {}


def test_storage_metrics_and_data_import_without_torch_or_gradio():
    """A rater-only Space and `ftcore score` must not pay for loading torch or gradio."""
    code = (
        "import sys, ftcore.db, ftcore.files, ftcore.stats.bootstrap, ftcore.metrics.scoring, "
        "ftcore.verdicts.overfit, ftcore.data.prepare, ftcore.data.versions\n"
        "print(sorted({'torch', 'transformers', 'gradio', 'peft'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
