"""The layers import one way: kernel <- tasks <- the desk domain (sim) <- actors <- CLI.

Read from the source (every ``import`` statement, function-local ones included), so a
shortcut taken anywhere fails here rather than being found in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("sim", "tasks", "actors", "run_sim", "bench", "scenarios", "tests")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every first-party module ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found += [(node.lineno, name) for name in names
                  if name.split(".")[0] in FIRST_PARTY]
    return found


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


#: package -> the first-party modules it may import (prefixes).
ALLOWED: dict[str, tuple[str, ...]] = {
    "sim/kernel": ("sim.kernel",),
    "tasks": ("tasks", "sim.kernel"),
    "sim": ("sim", "tasks"),
    "actors": ("actors", "sim", "tasks"),
}


def _violations(package: str) -> list[str]:
    allowed = ALLOWED[package]
    bad = []
    for path in _files(package):
        if package == "sim" and _within(_module_name(path), "sim.kernel"):
            continue  # checked under its own, stricter rule
        for line, name in _imports(path):
            if not any(_within(name, prefix) for prefix in allowed):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("package", list(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(package: str) -> None:
    assert _files(package), f"no modules under {package}"
    assert _violations(package) == []


def test_the_property_toolkit_needs_no_built_in_actor() -> None:
    # A user property-tests the grader of a task of their own with sim.testing alone.
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in _files("sim/testing") for line, name in _imports(path)
           if _within(name, "actors")]
    assert bad == []


def test_the_checker_finds_a_forbidden_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\nfrom actors.world import StandardWorld\n"
                      "def f():\n    import sim.episode\n", encoding="utf-8")
    assert _imports(source) == [(2, "actors.world"), (2, "actors.world.StandardWorld"),
                                (4, "sim.episode")]
