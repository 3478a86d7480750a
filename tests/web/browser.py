"""Real headless Chromium for the dashboard's browser tests (Playwright for Python driving
Debian's ``chromium``), a served dashboard, and axe-core injected into pages.

Without Chromium the tests skip, saying why; under ``CI=true`` they fail instead (``.ci/run``
installs it). axe-core comes from the npm registry, for the tests only
(``tests/web/node/package-lock.json``; ``npm ci`` runs when ``node_modules`` is missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import cli_json, environment, running_server
from tests.services import IN_CI, create_postgres_database, drop_postgres_database

CHROMIUM = os.environ.get("BACKUPJOBS_TEST_CHROMIUM", "/usr/bin/chromium")
NODE_PROJECT = Path(__file__).parent / "node"
AXE = NODE_PROJECT / "node_modules" / "axe-core" / "axe.min.js"
#: Where screenshots go: docs/screenshots when BACKUPJOBS_SCREENSHOTS=1, else a temporary folder.
DOCS_SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's ``Browser``), for one test: Playwright's
    synchronous API runs an event loop in this thread while it is open, which the suite's
    async tests must not find running."""
    if not Path(CHROMIUM).exists():
        missing(f"no Chromium at {CHROMIUM}: apt-get install chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, installed from the lock file when missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            missing("npm is not installed: apt-get install npm")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_PROJECT, check=True, timeout=300
        )
    return AXE.read_text()


def serious_violations(page: Any, axe: str) -> list[dict[str, Any]]:
    """What axe-core finds on ``page`` with impact serious or critical."""
    page.evaluate(axe)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("BACKUPJOBS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@dataclass
class Served:
    """A running ``backupjobs serve`` with the dashboard, and a partner made by the CLI."""

    url: str
    env: dict[str, str]
    database_url: str
    partner_id: str

    def new_user(self, role: str = "viewer", email: str | None = None) -> dict[str, Any]:
        """``backupjobs users create ... --json``: id, email, role, one-time password."""
        import uuid  # noqa: PLC0415

        address = email or f"staff-{uuid.uuid4().hex[:8]}@msp.example"
        return cli_json(
            self.env, "users", "create", "--partner", self.partner_id, "--email", address,
            "--role", role,
        )  # fmt: skip


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A database of its own (of the session's kind): the session's SQLite file may be
    write-locked by an in-process application whose event loop a browser test holds up."""
    folder = tmp_path_factory.mktemp("dashboard")
    if database_url.startswith("sqlite"):
        own_url = f"sqlite:///{folder / 'served.db'}"
    else:
        own_url = create_postgres_database()
    try:
        yield from _served(own_url, folder)
    finally:
        if not database_url.startswith("sqlite"):
            drop_postgres_database(own_url)


def _served(database_url: str, folder: Path) -> Iterator[Served]:
    env = environment(
        database_url,
        BACKUPJOBS_RATE_LIMIT_SIGNIN_ACCOUNT="5",
        BACKUPJOBS_LOG_LEVEL="warning",
        # The alerts pages' tests deliver to a receiver on this machine.
        BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE="true",
    )
    partner = cli_json(env, "partners", "create", "--name", "Browser Test MSP")["id"]
    log = folder / "server.log"
    with running_server(env, log) as server:
        yield Served(server.url, env, database_url, partner)
