"""``backupjobs demo`` as a newcomer meets it: the README's first command, then the commands
it prints and the README's and the guide's examples, each run as written against it."""

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.processes import BACKUPJOBS, environment, free_port, wait_healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: The ``backupjobs`` command that ``pip install`` put beside this interpreter.
SCRIPT = Path(sys.executable).parent / "backupjobs"
needs_shell = pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl")), reason="needs bash and curl"
)


def shell_blocks(document: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", document.read_text(), flags=re.DOTALL)


def client_examples(document: Path) -> list[str]:
    """The ``backupjobs client ...`` lines of a document's shell blocks."""
    return [
        line.strip()
        for block in shell_blocks(document)
        for line in block.splitlines()
        if line.startswith("backupjobs client ")
    ]


def without_backupjobs(path: str) -> str:
    """A PATH on which ``backupjobs`` is not found, as right after the quick start."""
    return os.pathsep.join(
        folder
        for folder in path.split(os.pathsep)
        if folder and not (Path(folder) / "backupjobs").exists()
    )


@dataclass
class Demo:
    url: str
    folder: Path
    text: str
    client_id: str
    secret: str
    customer: str
    env: dict[str, str]

    def partner_env(self, path: str) -> dict[str, str]:
        """What a partner's terminal has after the demo's ``export`` line."""
        return {
            **self.env,
            "PATH": path,
            "BACKUPJOBS_API_URL": self.url,
            "BACKUPJOBS_CLIENT_ID": self.client_id,
            "BACKUPJOBS_CLIENT_SECRET": self.secret,
            "XDG_CONFIG_HOME": str(self.folder / "no-config"),
        }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo started as the quick start leaves it: by the path of the command, which is
    not on the PATH, in a fresh folder with no configuration."""
    assert SCRIPT.exists(), "install the package (pip install -e .) to get the command"
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = environment("")
    del env["BACKUPJOBS_DATABASE_URL"]
    env["PATH"] = without_backupjobs(env.get("PATH", ""))
    log = folder / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(SCRIPT), "demo", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log, timeout=120)
        text = log.read_text()
        yield Demo(
            url,
            folder,
            text,
            client_id=re.search(r"client_id\s+(\S+)", text).group(1),
            secret=re.search(r"client_secret\s+(\S+)", text).group(1),
            customer=re.search(r"customer id\s+(\S+)", text).group(1),
            env=env,
        )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        time.sleep(0.1)


def test_demo_prints_working_credentials_and_requests(demo):
    token = httpx.post(
        f"{demo.url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": demo.client_id,
            "client_secret": demo.secret,
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    customers = httpx.post(
        f"{demo.url}/partner/external/v3/general/customers/batch", headers=headers
    ).json()
    assert customers["metadata"]["totalCount"] >= 5
    statuses = set()
    placeholders = 0
    for row in customers["data"]:
        page = httpx.post(
            f"{demo.url}/partner/external/v3/general/customers/{row['id']}/jobs",
            headers=headers,
        ).json()
        statuses |= {r["status"] for r in page["data"]}
        placeholders += sum(r["jobId"] == "N/A" for r in page["data"])
    assert {1, 2, 3, 4} <= statuses, statuses  # running, finished, failed, with exception
    assert placeholders >= 1  # a service that never ran
    assert (demo.folder / "backupjobs.db").exists()
    assert f"customer id    {demo.customer}   (Northwind Traders)" in demo.text


@needs_shell
def test_the_printed_commands_run_as_printed(demo):
    """Pasted into a terminal where ``backupjobs`` is not on the PATH, as after the quick
    start: the curl requests, and the partner command line written as it was started."""
    commands = [
        line.strip()
        for line in demo.text.splitlines()
        if line.strip().startswith(("TOKEN=", "curl -s", "export ", str(SCRIPT)))
    ]
    assert len(commands) == 7, demo.text  # token, v3, Modern; export, three commands
    assert f"{SCRIPT} client jobs Northwind --type" in demo.text
    done = subprocess.run(
        ["bash", "-e", "-c", "\n".join(commands)],
        env={**demo.env, "XDG_CONFIG_HOME": str(demo.folder / "no-config")},
        cwd=demo.folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"data":[' in done.stdout
    assert '"@odata.context":' in done.stdout
    assert '"jobModule":"SharePoint Online"' in done.stdout
    assert "Northwind Traders" in done.stdout and "SharePoint Online" in done.stdout


def run_example(line: str, env: dict[str, str], folder: Path) -> tuple[int, str, str]:
    """Run one documented command line; one that keeps running (``watch``) passes once it
    has read its baseline, and is stopped."""
    process = subprocess.Popen(
        ["bash", "-c", line],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stop = threading.Timer(60, os.killpg, (process.pid, signal.SIGKILL))
    stop.start()
    try:
        if " watch " in f"{line} ":
            first = process.stderr.readline()  # the baseline read, or an error
            if "watching" in first:
                os.killpg(process.pid, signal.SIGTERM)
                out, err = process.communicate(timeout=30)
                return 0, out, first + err
            out, err = process.communicate(timeout=60)
            return process.returncode, out, first + err
        out, err = process.communicate(timeout=60)
        return process.returncode, out, err
    finally:
        stop.cancel()


def examples_with_ids(document: Path) -> list:
    found = client_examples(document)
    return [pytest.param(line, id=f"{document.stem}-{n}") for n, line in enumerate(found)]


@needs_shell
@pytest.mark.parametrize(
    "line", [*examples_with_ids(ROOT / "README.md"), *examples_with_ids(ROOT / "docs" / "sdk.md")]
)
def test_documented_client_examples_run_as_written_against_the_demo(demo, line):
    """With ``backupjobs`` on the PATH (the environment activated, as the README says)."""
    path = os.pathsep.join([str(SCRIPT.parent), demo.env["PATH"]])
    code, out, err = run_example(line, demo.partner_env(path), demo.folder)
    assert code == 0, (line, err)
    assert out.strip() or "watching" in err, line
    assert "error" not in err.lower(), (line, err)


def test_the_documents_have_client_examples():
    assert len(client_examples(ROOT / "README.md")) >= 4
    assert len(client_examples(ROOT / "docs" / "sdk.md")) >= 6


def shape(value):
    """A JSON value's shape: its object keys and value types, lists by their items'."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def walkthrough() -> list[tuple[str, str]]:
    """The README's requests that a sample answer follows: (shell, json) pairs."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(sh|json)\n(.*?)```", text, flags=re.DOTALL)
    return [
        (command, answer)
        for (kind, command), (next_kind, answer) in itertools.pairwise(blocks)
        if kind == "sh" and next_kind == "json" and "curl" in command
    ]


@needs_shell
def test_the_readme_requests_answer_as_its_samples_show(demo):
    pairs = walkthrough()
    assert len(pairs) >= 5  # token, customers, v3 jobs, Modern jobs, ingestion
    env = {
        **demo.env,
        "CLIENT_ID": demo.client_id,
        "CLIENT_SECRET": demo.secret,
        "CUSTOMER": demo.customer,
    }
    for command, sample in pairs:
        if "$TOKEN" in command and "TOKEN" not in env:
            raise AssertionError("the token request comes first")
        done = subprocess.run(
            ["bash", "-c", command.replace("127.0.0.1:8000", demo.url.removeprefix("http://"))],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
        answer = json.loads(done.stdout)
        expected = json.loads(sample)
        assert shape(answer) == shape(expected), command
        if "access_token" in answer:
            env["TOKEN"] = answer["access_token"]
        if "metadata" in expected:
            assert answer["metadata"] == expected["metadata"], command


def test_a_demo_run_by_python_m_is_printed_so(tmp_path):
    """``python -m backupjobs demo``: the printed commands say so, with this interpreter."""
    port = free_port()
    env = environment(f"sqlite:///{tmp_path / 'demo.db'}")
    log = tmp_path / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*BACKUPJOBS, "demo", "--port", str(port), "--days", "1"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, log, timeout=120)
        assert f"{sys.executable} -m backupjobs client customers" in log.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_the_printed_dashboard_sign_in_works(demo):
    found = re.search(r"sign in as (\S+) with (\S+)", demo.text)
    assert found is not None, demo.text
    email, password = found.groups()
    with httpx.Client(base_url=demo.url) as browser:
        form = browser.get("/dashboard/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        answer = browser.post(
            "/dashboard/sign-in", data={"csrf": csrf, "email": email, "password": password}
        )
        # A one-time password: the first page is the one that changes it.
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dashboard/account/password"
