"""ruff, mypy (strict on src/) and the import contracts (``[tool.importlinter]`` in
pyproject.toml) are part of the suite, so one command gates everything."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the dev extra (pip install -e '.[dev]')")
    return found


def test_ruff_lint():
    done = run(tool("ruff"), "check", "src", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format():
    done = run(tool("ruff"), "format", "--check", "src", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict():
    done = run(tool("mypy"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_contracts():
    done = run(tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
