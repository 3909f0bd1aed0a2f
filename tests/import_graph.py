"""Every import a module makes, read with `ast`: the data the layer test (tests/test_layers.py) checks.

An import is found in each form Python runs it:

- ``import a.b``, ``import a.b as c``, ``from a import b`` (``b`` a module or a name),
  ``from . import x``, ``from ..core import y``, ``from .x import *``;
- at module level, under ``if TYPE_CHECKING:``, or inside a function (how heavy
  modules load late);
- ``importlib.import_module("alien_nb.x")`` / ``__import__("alien_nb.x")`` with a literal,
  and the lazy exporters' tables of module names (``{"Name": "._module"}``) that a
  ``importlib.import_module(name, __name__)`` call reads.

Relative names resolve as Python resolves them, to absolute dotted module names.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# When the importing code runs: with the module ("module"), never ("type-checking": only
# for type checkers), when a function is called ("function"), or when a lazy exporter
# looks a name up ("lazy").
When = Literal["module", "type-checking", "function", "lazy"]

_RELATIVE_NAME = re.compile(r"\.+[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Import:
    """``source`` imports ``target`` (both absolute dotted names) at ``path:line``."""

    source: str
    target: str
    path: Path
    line: int
    when: When

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target} ({self.when})"


class RelativeImportBeyondTop(ValueError):
    pass


def package_of(module: str, *, is_package: bool) -> str:
    """The package a relative import in ``module`` starts from (``__package__``)."""
    return module if is_package else module.rpartition(".")[0]


def resolve_relative(name: str, level: int, package: str, *, where: str = "") -> str:
    """``from <level dots><name> import …`` in ``package``, as an absolute name (importlib's rule)."""
    if level == 0:
        return name
    parts = package.split(".") if package else []
    if level - 1 >= len(parts):
        raise RelativeImportBeyondTop(f"{where}: {'.' * level}{name} goes above the top-level package")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{name}" if name else base


def imports_in(
    source: str,
    module: str,
    *,
    is_package: bool = False,
    path: Path | None = None,
    is_module: Callable[[str], bool] = lambda _name: False,
) -> list[Import]:
    """Every import in ``source``, the text of ``module``.

    ``is_module`` says whether a dotted name is a module, so that ``from a import b``
    imports ``a.b`` when ``b`` is a submodule and ``a`` when ``b`` is a name in it.
    """
    tree = ast.parse(source, filename=str(path or module))
    finder = _Finder(module, package_of(module, is_package=is_package), path or Path(module), is_module)
    finder.visit(tree)
    finder.add_lazy_tables(tree)
    return finder.found


def imports_of_package(root: Path) -> list[Import]:
    """Every import in every ``.py`` file under the package directory ``root``."""
    files = sorted(root.rglob("*.py"))
    modules = set(package_modules(root))

    def is_module(name: str) -> bool:
        return name in modules

    found: list[Import] = []
    for file in files:
        module = _module_name(root, file)
        found += imports_in(
            file.read_text(encoding="utf-8"),
            module,
            is_package=file.name == "__init__.py",
            path=file.relative_to(root.parent),
            is_module=is_module,
        )
    return found


def package_modules(root: Path) -> list[str]:
    return sorted(_module_name(root, file) for file in root.rglob("*.py"))


def _module_name(root: Path, file: Path) -> str:
    parts = [root.name, *file.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str, package: str, path: Path, is_module: Callable[[str], bool]) -> None:
        self.module, self.package, self.path, self.is_module = module, package, path, is_module
        self.found: list[Import] = []
        self._when: When = "module"
        # A lazy exporter here (an import_module call whose name is not a literal, or a
        # lazy_exports call): the module's tables of names are read relative to its package.
        self._lazy = False
        self._lazy_package: str | None = None

    def _add(self, target: str, node: ast.AST, when: When | None = None) -> None:
        self.found.append(
            Import(self.module, target, self.path, getattr(node, "lineno", 0), when or self._when)
        )

    def _resolve(self, name: str, level: int, node: ast.AST) -> str:
        return resolve_relative(name, level, self.package, where=f"{self.path}:{getattr(node, 'lineno', 0)}")

    def _inside(self, when: When, nodes: list[ast.stmt] | list[ast.AST]) -> None:
        outer = self._when
        # A function body runs later, even inside `if TYPE_CHECKING` (which no function is).
        self._when = "function" if outer == "function" else when
        for node in nodes:
            self.visit(node)
        self._when = outer

    # -- statements ---------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._resolve(node.module or "", node.level, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if alias.name != "*" and self.is_module(submodule) else base, node)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._inside("type-checking", node.body)
            self._inside(self._when, node.orelse)
        else:
            self.generic_visit(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        # Decorators, defaults and annotations run with the enclosing code; the body later.
        outer: list[ast.AST] = []
        if not isinstance(node, ast.Lambda):
            outer += node.decorator_list
            if node.returns:
                outer.append(node.returns)
        outer.append(node.args)
        self._inside(self._when, outer)
        body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        self._inside("function", body)

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    # -- importlib ----------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            package = self._package_argument(node) if name == "import_module" else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add_dynamic(first.value, package, node, self._when)
            elif name == "import_module":
                self._lazy_exporter(package)
        elif name.lstrip("_") == "lazy_exports" and node.args:
            # core/_lazy.lazy_exports(__name__, {"Name": "._module"}): the import_module call is
            # in the helper, the table of names is here.
            self._lazy_exporter(self._package_value(node.args[0]))
        self.generic_visit(node)

    def _lazy_exporter(self, package: str | None) -> None:
        if not self._lazy:  # the first one names the package its tables are relative to
            self._lazy, self._lazy_package = True, package

    def _package_argument(self, call: ast.Call) -> str | None:
        argument = call.args[1] if len(call.args) > 1 else None
        for keyword in call.keywords:
            if keyword.arg == "package":
                argument = keyword.value
        return self._package_value(argument)

    def _package_value(self, argument: ast.expr | None) -> str | None:
        """The package an expression names: ``__name__``, ``__package__`` or a string literal."""
        if isinstance(argument, ast.Name) and argument.id == "__name__":
            return self.module
        if isinstance(argument, ast.Name) and argument.id == "__package__":
            return self.package
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            return argument.value
        return None

    def _add_dynamic(self, name: str, package: str | None, node: ast.AST, when: When) -> None:
        # importlib.import_module("..x", package): dots count from `package` itself.
        level = len(name) - len(name.lstrip("."))
        if level and package is None:
            return  # importlib would raise: a relative name needs a package
        self._add(resolve_relative(name[level:], level, package or "", where=str(self.path)), node, when)

    def add_lazy_tables(self, tree: ast.Module) -> None:
        """The module names a lazy exporter keeps as strings, for its non-literal import_module call."""
        if not self._lazy:
            return
        package = self._lazy_package
        for node, text in _string_constants(tree):
            if _RELATIVE_NAME.fullmatch(text) and package is not None:
                self._add_dynamic(text, package, node, "lazy")
            elif _DOTTED_NAME.fullmatch(text) and "." in text and self.is_module(text):
                self._add(text, node, "lazy")


def _string_constants(tree: ast.AST) -> Iterator[tuple[ast.Constant, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node, node.value


@dataclass(frozen=True)
class Circle:
    """``modules`` all import each other, directly or not; ``imports`` is one circle among them."""

    modules: frozenset[str]
    imports: list[Import]

    def __str__(self) -> str:
        names = " -> ".join([self.imports[0].source, *(imp.target for imp in self.imports)])
        others = sorted(self.modules - {imp.source for imp in self.imports})
        also = f"\n    (other modules in the same tangle: {', '.join(others)})" if others else ""
        return names + "".join(f"\n    {imp}" for imp in self.imports) + also


def find_cycles(imports: list[Import]) -> list[Circle]:
    """One circle of imports (each edge, in order) per group of modules that import each other."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if imp.source != imp.target:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    return [
        Circle(frozenset(group), _circle_through(sorted(group)[0], group, edges))
        for group in _strongly_connected(edges)
    ]


def _strongly_connected(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative; only the groups of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(edges.get(target, {})))))
            elif target in on_stack:
                low[node] = min(low[node], index[target])
    return groups


def _circle_through(start: str, group: set[str], edges: dict[str, dict[str, Import]]) -> list[Import]:
    """The shortest way from ``start`` back to itself inside ``group`` (breadth first)."""
    came_by: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target, imp in sorted(edges.get(node, {}).items()):
                if target not in group:
                    continue
                if target == start:
                    circle = [imp]
                    while circle[0].source != start:
                        circle.insert(0, came_by[circle[0].source])
                    return circle
                if target not in came_by:
                    came_by[target] = imp
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a strongly connected group but on no circle")  # unreachable
