"""Services return domain objects (rows, dataclasses); the routes make the response schemas.

A module that is no route module (views, api, answers, pages, schemas) and imports a response
schema (a `...Out` of a `schemas` module) is building an HTTP answer below the views: the
check below finds each one. The results' summaries are still made as schemas by the results
services (and read by the reports); they are listed here until that package's own work moves
them, so no new one can appear unnoticed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import web

ROOT = Path(web.__file__).parent.parent
ROUTE_MODULES = re.compile(r"(^|_)(views|api|answers|schemas|pages)\.py$")
KNOWN = frozenset(
    {
        ("web/reports/content.py", "AdSummaryOut"),
        ("web/results/compare.py", "AdSummaryOut"),
        ("web/results/compare.py", "QuartilesOut"),
        ("web/results/service.py", "AdSummaryOut"),
        ("web/results/service.py", "EmotionPeakOut"),
        ("web/results/service.py", "EmotionSummaryOut"),
        ("web/results/service.py", "KeyMomentOut"),
    }
)


def response_schemas(source: str) -> list[str]:
    """The response schemas (`...Out` of a `schemas` module) a module's source imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("schemas"):
            found += [alias.name for alias in node.names if alias.name.endswith("Out")]
    return found


def test_the_check_sees_a_service_importing_a_response_schema() -> None:
    assert response_schemas("from web.panel.schemas import ClipCreate, ClipOut\n") == ["ClipOut"]
    assert response_schemas("from web.panel.schemas import ClipCreate\n") == []
    assert response_schemas("from web.results.service import AdSummaryOut\n") == []


def test_no_service_builds_a_response_schema() -> None:
    found = set()
    for path in sorted((ROOT / "web").rglob("*.py")):
        if ROUTE_MODULES.search(path.name):
            continue
        name = path.relative_to(ROOT).as_posix()
        found |= {(name, schema) for schema in response_schemas(path.read_text())}
    assert found - KNOWN == set(), "make the schema in the route (web/panel/answers.py)"
    assert KNOWN - found == set(), "moved to the routes: take it off KNOWN"
