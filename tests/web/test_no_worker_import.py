"""The house's import rules (docs/architecture.md): web/ never imports worker/, the worker reaches
into web/ only through the clip's package, the database and the settings, the panel and the
results meet only in web.clips, the contracts in candor/ are pure, and no package imports
another that imports it back."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import web

ROOT = Path(web.__file__).parent.parent
TOP = ("web", "worker", "candor")
# candor/ holds two things: the contracts every part imports (pure data, like candor.metrics)
# and the `candor` command that ties the web app, the worker and the analysis together.
CONTRACTS = frozenset({"metrics", "quality", "statuses", "columns", "ondevice"})
# What the worker may use of web/: the clip's package, the database, the settings, and the
# table registry (loaded once per process so the clip tables' foreign keys resolve).
WORKER_MAY_USE = frozenset({"web.clips", "web.db", "web.settings", "web.models"})


def imported(source: str) -> list[str]:
    """Every module an import statement in this source names (absolute imports; `from web
    import models` names web.models)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def unit(module: str) -> str | None:
    """The package a module belongs to in the rules: a package under web/ or a module directly
    in it, the worker's pure analysis apart from the rest of the worker, candor's contracts
    apart from its command; None outside the project."""
    parts = module.split(".")
    if parts[0] == "web":
        return "web" if len(parts) == 1 else f"web.{parts[1]}"
    if parts[0] == "worker":
        return "worker.analysis" if parts[1:2] == ["analysis"] else "worker"
    if parts[0] == "candor":
        if parts[1:2] == ["synthetic"]:
            return "candor.synthetic"
        return "candor.contracts" if parts[1:2] and parts[1] in CONTRACTS else "candor"
    return None


def modules() -> Iterator[tuple[str, Path]]:
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def arrows() -> dict[tuple[str, str], set[str]]:
    """(from, to) between units, with the modules that import across."""
    found: dict[tuple[str, str], set[str]] = {}
    for name, path in modules():
        source_unit = unit(name)
        for target in imported(path.read_text(encoding="utf-8")):
            target_unit = unit(target)
            # `from web import models` also names web.models (`from candor import ondevice`,
            # candor.ondevice: a contract, not the command); a name that is not a module
            # (`from web.clips.models import Clip` -> web.clips.models.Clip) maps to its unit.
            if target_unit is None or target_unit == source_unit or target in TOP:
                continue
            assert source_unit is not None
            found.setdefault((source_unit, target_unit), set()).add(name)
    return found


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The groups of units that import each other in a loop (Tarjan's strongly connected
    components of more than one unit)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def forbidden(source: str, target: str) -> str | None:
    """Why an arrow from one unit to another breaks the rules, or None if it may stand."""
    if source.startswith("web") and target.startswith("worker"):
        return "web/ sends tasks by name and never imports the worker"
    if source == "worker" and target.startswith("web") and target not in WORKER_MAY_USE:
        return "the worker uses only web.clips, web.db, web.settings (and the table registry)"
    if source == "worker.analysis" and not target.startswith("candor.contracts"):
        return "the analysis is pure: video in, curves out"
    if (
        source == "web.clips"
        and target.startswith("web")
        and target not in ("web.db", "web.settings", "web.errors")
    ):
        return "the clip's package stands below every other part of web/"
    ground = ("web.errors", "web.refusals")
    if source in ground and target.startswith("web") and target != "web.errors":
        return "the domain errors and how they are answered stand on nothing else of web/"
    form_may_use = ("web.csrf", "web.errors", "web.refusals", "web.pages")
    if source == "web.forms" and target not in form_may_use:
        return "the form helper knows forms and refusals, no domain"
    if target == "web.demo" and source != "candor":
        return "the demo room is run by the candor command alone; the app never imports it"
    if {source, target} == {"web.panel", "web.results"}:
        return "the panel and the results meet only in web.clips"
    if source in ("candor.contracts", "candor.synthetic") and target != "candor.contracts":
        return "candor's contracts and generator are pure"
    return None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import worker.tasks", ["worker.tasks"]),
        ("from worker import context", ["worker", "worker.context"]),
        (
            "def f():\n    from worker.celery_app import make_celery",
            ["worker.celery_app", "worker.celery_app.make_celery"],
        ),
        ("from . import sibling", []),
    ],
)
def test_the_check_sees_every_form_of_import(source: str, expected: list[str]) -> None:
    assert imported(source) == expected


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("web.panel.service", "web.panel"),
        ("web.pages", "web.pages"),
        ("worker.analysis.signals", "worker.analysis"),
        ("worker.clip_job", "worker"),
        ("candor.statuses", "candor.contracts"),
        ("candor.cli", "candor"),
        ("candor.synthetic.face_model", "candor.synthetic"),
        ("sqlalchemy.orm", None),
        ("workers", None),
    ],
)
def test_each_module_belongs_to_its_package(module: str, expected: str | None) -> None:
    assert unit(module) == expected


def test_the_cycle_finder_finds_a_loop_and_nothing_else() -> None:
    assert cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert cycles([("a", "b"), ("b", "c"), ("a", "c")]) == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("web.clips", "worker"),
        ("worker", "web.panel"),
        ("worker", "web.results"),
        ("worker", "web.studies"),
        ("worker.analysis", "web.db"),
        ("web.clips", "web.panel"),
        ("web.panel", "web.results"),
        ("web.results", "web.panel"),
        ("candor.contracts", "web.settings"),
        ("web.errors", "web.settings"),
        ("web.refusals", "web.accounts"),
        ("web.forms", "web.handlers"),
        ("web.forms", "web.studies"),
        ("web.studies", "web.demo"),
        ("web.app", "web.demo"),
    ],
)
def test_the_rules_refuse_the_arrows_the_house_forbids(source: str, target: str) -> None:
    assert forbidden(source, target) is not None


def test_the_whole_project_is_read() -> None:
    names = [name for name, _path in modules()]
    assert len(names) > 120
    assert {"web.clips.lifecycle", "worker.clip_job", "candor.statuses"} <= set(names)
    assert ("worker", "web.clips") in arrows()  # the reading sees real arrows


def test_no_module_under_web_imports_worker() -> None:
    offenders = {
        pair: sorted(names)
        for pair, names in arrows().items()
        if pair[0].startswith("web") and pair[1].startswith("worker")
    }
    assert offenders == {}


def test_no_import_breaks_the_house_rules() -> None:
    offenders = {
        f"{source} -> {target}": f"{reason}: {sorted(names)}"
        for (source, target), names in arrows().items()
        if (reason := forbidden(source, target))
    }
    assert offenders == {}


def test_no_package_imports_one_that_imports_it_back() -> None:
    assert cycles(arrows()) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    """Within packages too: the worker's Celery app, its context and its tasks once formed
    such a loop (settings stuck onto the Celery app, read back by the context)."""
    names = {name for name, _path in modules()}
    edges = set()
    for name, path in modules():
        for target in imported(path.read_text(encoding="utf-8")):
            while target and target not in names:  # web.clips.models.Clip -> web.clips.models
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add((name, target))
    assert cycles(edges) == []
