"""Every command says what it does, and every option and argument what it is, as written."""

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from backupjobs.cli import app

runner = CliRunner()


def commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


EVERY_COMMAND = list(commands(typer.main.get_command(app)))


def flat(text: str) -> str:
    """Help text without the boxes and the wrapping around it."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(
    ("path", "command"), EVERY_COMMAND, ids=[" ".join(p) or "backupjobs" for p, _ in EVERY_COMMAND]
)
def test_every_option_has_its_help_shown_whole(path, command):
    assert (command.help or "").strip(), f"{path}: no help"
    shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "1000"})
    assert shown.exit_code == 0, shown.output
    text = flat(shown.stdout)
    for parameter in command.params:
        if parameter.name == "help":
            continue
        said = getattr(parameter, "help", None)
        assert said and said.strip(), f"{path}: {parameter.name} has no help"
        # Square brackets are markup to the help renderer: "[default: 8000]" vanished.
        assert flat(said) in text, f"{path}: {parameter.name}'s help shows as something else"


def test_the_demo_and_serve_options_say_their_defaults():
    text = flat(runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "1000"}).stdout)
    assert "Port to listen on (default: BACKUPJOBS_PORT, or 8000)." in text
    assert "Address to listen on (default: BACKUPJOBS_HOST, or 127.0.0.1)." in text


ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documented_commands():
    """Each ``backupjobs ...`` command line in the documents' shell blocks and inline code,
    with continuation lines joined, as (document, words)."""
    for document in DOCUMENTS:
        text = document.read_text()
        pieces = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
        pieces += re.findall(r"`(backupjobs [^`]+)`", text)
        for piece in pieces:
            for line in piece.replace("\\\n", " ").splitlines():
                code = line.split(" #", 1)[0]
                for command in re.split(r"(?<![\w./-])backupjobs (?=[a-z])", code)[1:]:
                    words = re.sub(r"[\[\]|]", " ", command).split()
                    yield document.name, words


def test_every_documented_command_and_option_exists():
    root = typer.main.get_command(app)
    checked = 0
    for document, words in documented_commands():
        command, rest = root, list(words)
        path = []
        while rest and rest[0] in getattr(command, "commands", {}):
            path.append(rest[0])
            command = command.commands[rest.pop(0)]
        assert path, (document, words)
        known = {name for parameter in command.params for name in parameter.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, (document, " ".join(path), word)
        checked += 1
    assert checked >= 40
