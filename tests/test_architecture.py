"""The house rules a newcomer relies on, checked on the source itself: no import circles, small
modules, no HTML assembled in Python, no reaching into other libraries' private attributes."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "leads"
MAX_LINES = 400


def python_files(*folders: Path) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in folder.rglob("*.py")
        if "migrations" not in path.parts and "__pycache__" not in path.parts
    )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports anywhere in it (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            # `from leads.x import y`: y is a module when leads.x.y is one, else a name in leads.x
            names = [n for n in names[:-1] if n in known] or [node.module]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return [*visiting[visiting.index(module) :], module]
        if module in done:
            return None
        visiting.append(module)
        for target in sorted(graph.get(module, ())):
            if cycle := visit(target):
                return cycle
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if cycle := visit(module):
            return cycle
    return None


def test_find_cycle_sees_a_circle_through_three_modules():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles_lazy_imports_included():
    files = python_files(APP, ROOT / "botpanel")
    known = {module_name(path) for path in files}
    graph = {module_name(path): imported_modules(path, known) for path in files}
    graph = {module: targets - {module} for module, targets in graph.items()}
    assert find_cycle(graph) is None


def package_of(module: str) -> str:
    """leads.sync.writer -> leads.sync: the concern a module belongs to."""
    return ".".join(module.split(".")[:2])


def test_no_circles_between_the_app_packages():
    """One concern may use another only one way round (sync uses selectors, never the reverse)."""
    files = python_files(APP)
    known = {module_name(path) for path in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        package = package_of(module_name(path))
        targets = {package_of(target) for target in imported_modules(path, known)}
        graph.setdefault(package, set()).update(targets - {package})
    assert find_cycle(graph) is None


@pytest.mark.parametrize("path", python_files(APP, ROOT / "botpanel"), ids=module_name)
def test_module_is_at_most_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


# A string constant that opens or closes an HTML element.
HTML = re.compile(r"<(/?[a-zA-Z][a-zA-Z0-9]*)[\s>/]")


def html_assembled_in_python(tree: ast.Module) -> list[int]:
    """Lines where a string holding HTML is part of an f-string, a `+` or `%`, or a join."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            parts = [
                side.value for side in (node.left, node.right) if isinstance(side, ast.Constant)
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("join", "format")
            and isinstance(node.func.value, ast.Constant)
        ):
            parts = [node.func.value.value]
        else:
            continue
        if any(isinstance(part, str) and HTML.search(part) for part in parts):
            lines.append(node.lineno)
    return lines


def test_the_html_check_sees_fstrings_concatenation_and_percent():
    source = 'a = f"<td>{x}</td>"\nb = "<b>" + x\nc = "<i>%s</i>" % x\nd = "<br>".join(x)\n'
    assert html_assembled_in_python(ast.parse(source)) == [1, 2, 3, 4]
    assert html_assembled_in_python(ast.parse('e = format_html("<b>{}</b>", x)\nf = "a < b"')) == []


@pytest.mark.parametrize("path", python_files(APP), ids=module_name)
def test_no_html_is_built_in_python(path):
    assert html_assembled_in_python(parse(path)) == []


# Underscore attributes that are documented API: a model's Meta API and default manager.
DOCUMENTED_PRIVATE = {"_meta", "_default_manager"}


def private_attributes_of_others(tree: ast.Module) -> list[str]:
    """`x._name` where x is not self or cls: another object's private attribute (dunders and
    documented ones excepted)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in DOCUMENTED_PRIVATE:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append(f"line {node.lineno}: .{name}")
    return found


@pytest.mark.parametrize("path", python_files(APP), ids=module_name)
def test_no_private_attribute_of_another_object(path):
    assert private_attributes_of_others(parse(path)) == []


def inherited_private_attributes(tree: ast.Module) -> list[str]:
    """`self._name` or `super()._name` where the module never defines `_name`: a private
    attribute inherited from a library class (Django's `_changeform_view`, say)."""
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            defined.add(node.attr)
    used = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or node.attr in defined:
            continue
        owner = node.value
        is_self = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
        is_super = isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "super"
        if is_self or is_super:
            used.append(f"line {node.lineno}: .{node.attr}")
    return used


def test_the_inherited_check_sees_a_library_private_method():
    source = "class A(B):\n    def f(self):\n        return self._changeform_view()\n"
    assert inherited_private_attributes(ast.parse(source)) == ["line 3: ._changeform_view"]
    own = "class A:\n    def _g(self):\n        pass\n    def f(self):\n        self._g()\n"
    assert inherited_private_attributes(ast.parse(own)) == []


@pytest.mark.parametrize("path", python_files(APP), ids=module_name)
def test_no_private_attribute_inherited_from_a_library(path):
    assert inherited_private_attributes(parse(path)) == []


FORMATTER_OPT_OUT = "# fmt" + ": skip"  # spelled in two, so that this file does not match


def test_no_formatter_opt_outs():
    folders = [APP, ROOT / "botpanel", ROOT / "tests", ROOT / "benchmarks", ROOT / "loadtest"]
    marked = [
        str(path.relative_to(ROOT))
        for path in python_files(*folders)
        if FORMATTER_OPT_OUT in path.read_text(encoding="utf-8")
    ]
    assert marked == []


def test_no_test_module_imports_another():
    """Shared helpers live in conftest.py, factories.py or hostile.py, never in a test module."""
    tests = Path(__file__).resolve().parent
    reaching = [
        str(path.relative_to(ROOT))
        for path in python_files(tests)
        for node in ast.walk(parse(path))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").rsplit(".", 1)[-1].startswith("test_")
    ]
    assert reaching == []
