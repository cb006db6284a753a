"""web/ never imports worker/: the web app sends tasks by name and shares code via web/clips."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import web

WEB = Path(web.__file__).parent


def worker_imports(source: str) -> list[str]:
    """Every module an import statement in this source names under `worker`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [name for name in names if name == "worker" or name.startswith("worker.")]
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import worker.tasks", ["worker.tasks"]),
        ("from worker import context", ["worker"]),
        ("def f():\n    from worker.celery_app import make_celery", ["worker.celery_app"]),
        ("import workers, web.worker_view\nfrom web.clips import queue", []),
    ],
)
def test_the_check_sees_every_form_of_import(source: str, expected: list[str]) -> None:
    assert worker_imports(source) == expected


def test_no_module_under_web_imports_worker() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) > 50  # the whole package, not an empty glob
    offenders = {
        str(path.relative_to(WEB.parent)): names
        for path in modules
        if (names := worker_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
