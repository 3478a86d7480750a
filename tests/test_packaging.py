"""``pip install backupjobs`` is the SDK and the partner command line; the server is the
``server`` extra. The server commands, without it, say how to install it in one line."""

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HINT = "this command needs the server: pip install 'backupjobs[server]'"
#: Top-level modules of the server extra's distributions.
SERVER_PACKAGES = (
    "litestar", "granian", "uvloop", "sqlalchemy", "asyncpg", "aiosqlite", "alembic",
    "prometheus_client", "structlog", "redis", "argon2", "jinja2",
)  # fmt: skip
SERVER_COMMANDS = (
    ["serve"],
    ["demo", "--port", "8000"],
    ["simulate", "--help"],
    ["db", "upgrade"],
    ["partners", "create", "--name", "Contoso MSP", "--json"],
    ["customers", "list"],
    ["services", "enable"],
    ["apps", "list"],
    ["keys", "rotate"],
    ["users", "list", "--partner", "00000000-0000-0000-0000-000000000000"],
)

#: ``backupjobs ARGS`` in an interpreter where the server's packages cannot be imported.
WITHOUT_THE_SERVER = """
import sys

class NoServer:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, NoServer())
sys.argv = ["backupjobs", *{args!r}]
from backupjobs.cli import main
main()
"""


def without_the_server(*args: str) -> subprocess.CompletedProcess[str]:
    code = WITHOUT_THE_SERVER.format(blocked=set(SERVER_PACKAGES), args=list(args))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_partner_commands_run_without_the_server_packages():
    done = without_the_server("client", "--help")
    assert done.returncode == 0, done.stderr
    assert "attention" in done.stdout


def test_the_command_list_names_the_server_commands_and_how_to_get_them():
    done = without_the_server("--help")
    assert done.returncode == 0, done.stderr
    for command in ("serve", "partners", "client"):
        assert command in done.stdout
    assert "pip install 'backupjobs[server]'" in done.stdout


@pytest.mark.parametrize("args", SERVER_COMMANDS, ids=[args[0] for args in SERVER_COMMANDS])
def test_a_server_command_without_the_server_packages_says_so_in_one_line(args):
    done = without_the_server(*args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {HINT}"]
    assert done.stdout == ""


def test_with_the_server_packages_the_server_commands_are_the_real_ones():
    done = subprocess.run(
        [sys.executable, "-m", "backupjobs", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--workers" in done.stdout


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with ``pip install backupjobs``, no extra: the wheel is
    built from a copy of the sources, its dependencies resolved by pip from its metadata."""
    folder = tmp_path_factory.mktemp("plain-install")
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels = folder / "wheels"
    run(*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source))
    (wheel,) = wheels.glob("backupjobs-*.whl")
    environment = folder / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    run(*pip, "--python", str(python), "install", "--no-compile", str(wheel))
    return environment / "bin"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_a_plain_install_imports_the_sdk_and_no_server_package(plain_install):
    probe = (
        "import importlib, json\n"
        "from backupjobs.sdk import Client, ClientSecret\n"
        "found = []\n"
        f"for name in {SERVER_PACKAGES!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        continue\n"
        "    found.append(name)\n"
        "print(json.dumps(found))\n"
    )
    done = run(str(plain_install / "python"), "-c", probe)
    assert json.loads(done.stdout) == []


@pytest.mark.slow
def test_a_plain_install_runs_the_partner_commands(plain_install):
    done = run(str(plain_install / "backupjobs"), "client", "--help")
    assert "attention" in done.stdout
    run(str(plain_install / "backupjobs"), "--help")


@pytest.mark.slow
def test_a_plain_install_answers_serve_with_how_to_install_the_server(plain_install):
    done = subprocess.run(
        [str(plain_install / "backupjobs"), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {HINT}"
