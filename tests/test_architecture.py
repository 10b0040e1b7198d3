"""The dependency rules of the tree, read from the source with ``ast`` (no imports run).

* ``patterns`` imports neither NumPyro nor ``models`` nor anything under ``scripts/``;
  ``models`` imports nothing under ``scripts/``: dependencies point one way,
  ``scripts -> models -> patterns -> jax``.
* No module imports another module's private name (``from m import _x``, or ``m._x`` on an
  imported module): what two modules share is a public function of a lower layer.
* No script imports another script. A *script* is a file under ``scripts/`` whose name does
  not start with ``_``; the underscore modules and packages (``_cli``, ``_arviz_io``,
  ``benchmarks/_common``) are the scripts' shared library.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def script_module_names() -> set[str]:
    """Top-level names a file under scripts/ can be imported by (sys.path holds its folder)."""
    names = set()
    for path in SCRIPTS.rglob("*.py"):
        names.add(path.stem)
        if path.name == "__init__.py":
            names.add(path.parent.name)
    names.discard("__init__")
    return names


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) for every import statement, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.ImportFrom):  # relative: resolve to the package's name
            package = path.relative_to(ROOT).parent.parts
            base = ".".join(package[: len(package) - node.level + 1])
            module = ".".join(filter(None, [base, node.module]))
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def private_attribute_uses(path: Path) -> list[tuple[str, int]]:
    """``module._name`` (or ``module.sub._name``) where ``module`` is bound by an import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module_names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    uses = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        chain, root = [node.attr], node.value
        while isinstance(root, ast.Attribute):
            chain.append(root.attr)
            root = root.value
        if isinstance(root, ast.Name) and root.id in module_names:
            uses.append((".".join([root.id, *reversed(chain)]), node.lineno))
    return uses


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


ALL_CODE = python_files("patterns", "models", "scripts", "tests") + [ROOT / "conftest.py"]


@pytest.mark.parametrize("path", ALL_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_modules_private_name(path):
    bad = [f"line {line}: from {module} import {name}"
           for module, names, line in imports(path) for name in names if is_private(name)]
    bad += [f"line {line}: {use}" for use, line in private_attribute_uses(path)]
    assert not bad, f"{path.relative_to(ROOT)} reaches into another module's privates: {bad}"


@pytest.mark.parametrize("path", python_files("patterns", "models"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_library_code_never_imports_scripts(path):
    scripts = script_module_names()
    bad = [(module, line) for module, _, line in imports(path)
           if module.split(".")[0] in scripts | {"scripts"}]
    assert not bad, f"{path.relative_to(ROOT)} imports from scripts/: {bad}"


@pytest.mark.parametrize("path", python_files("patterns"), ids=lambda p: str(p.relative_to(ROOT)))
def test_patterns_is_pure_jax(path):
    bad = [(module, line) for module, _, line in imports(path)
           if module.split(".")[0] in {"numpyro", "models", "arviz"}]
    assert not bad, f"{path.relative_to(ROOT)} must use JAX only: {bad}"


SCRIPT_FILES = [p for p in python_files("scripts")
                if not any(part.startswith("_") for part in p.relative_to(SCRIPTS).parts)]


@pytest.mark.parametrize("path", SCRIPT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_script_imports_another_script(path):
    scripts = {p.stem for p in SCRIPT_FILES}
    bad = [(module, line) for module, _, line in imports(path)
           if module.split(".")[0] in scripts and module.split(".")[0] != path.stem]
    assert not bad, f"{path.relative_to(ROOT)} imports another script: {bad}"


def test_the_rules_catch_what_they_are_meant_to_catch(tmp_path):
    """The checks above can fail: run them on a file that breaks each rule."""
    bad = tmp_path / "bad.py"
    bad.write_text("from models.arma.exact import _fast_loglik\nimport patterns\n"
                   "patterns.sequential._private_helper\nimport fit_arma\n")
    assert [n for _, names, _ in imports(bad) for n in names if is_private(n)] == ["_fast_loglik"]
    assert private_attribute_uses(bad) == [("patterns.sequential._private_helper", 3)]
    assert "fit_arma" in {m for m, _, _ in imports(bad)} & script_module_names()
