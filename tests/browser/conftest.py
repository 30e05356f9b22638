"""What the browser tests share: the demo recordings imported for a live server, and the
console errors a page logs (a refused inline style or script is one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from inspector.importer import import_paths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def imported(transactional_db) -> None:
    """The demo recordings of fixtures/, in a database the live server sees."""
    assert import_paths([FIXTURES], max_bytes=64 * 1024 * 1024).failed == 0


@pytest.fixture
def errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of the page, as they come."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    return found
