"""Reports are drawn from results: the same seeded world of panelists (tests/web/results)."""

from __future__ import annotations

from tests.web.results.conftest import world  # noqa: F401  (fixture)
