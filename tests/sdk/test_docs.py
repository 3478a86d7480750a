"""Every Python example in docs/sdk.md runs as written against a real server."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.auth.credentials import certificate_pem, private_key, private_key_pem
from tests.processes import cli_json
from tests.sdk.partner import READ_PERMISSIONS

pytestmark = pytest.mark.slow

GUIDE = Path(__file__).parents[2] / "docs" / "sdk.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


@pytest.fixture(scope="module")
def environments(world, tmp_path_factory):
    """The variables a reader sets: with the reader app's secret, or with a certificate."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPJOBS_")}
    folder = tmp_path_factory.mktemp("docs")
    secret = {
        **base,
        "XDG_CONFIG_HOME": str(folder),
        "BACKUPJOBS_API_URL": world.url,
        "BACKUPJOBS_CLIENT_ID": world.reader.client_id,
        "BACKUPJOBS_CLIENT_SECRET": world.reader.secret,
    }
    app = world.new_app(*READ_PERMISSIONS)
    key = private_key("rsa", 80)
    (folder / "partner.key").write_bytes(private_key_pem(key))
    (folder / "partner.pem").write_bytes(certificate_pem(key))
    cli_json(
        world.env, "apps", "add-certificate", "--client-id", app.client_id,
        "--cert", str(folder / "partner.pem"),
    )  # fmt: skip
    certificate = {
        **secret,
        "BACKUPJOBS_CLIENT_ID": app.client_id,
        "BACKUPJOBS_CLIENT_KEY": str(folder / "partner.key"),
        "BACKUPJOBS_CLIENT_CERTIFICATE": str(folder / "partner.pem"),
    }
    del certificate["BACKUPJOBS_CLIENT_SECRET"]
    return {"secret": secret, "certificate": certificate}


def test_the_guide_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{n}" for n in range(len(EXAMPLES))])
def test_an_example_runs(example, environments):
    kind = "certificate" if "BACKUPJOBS_CLIENT_KEY" in example else "secret"
    done = subprocess.run(
        [sys.executable, "-c", example],
        env=environments[kind],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if "print(" in example:
        assert done.stdout.strip(), "the example printed nothing"
    if kind == "certificate":
        assert "thumbprint=" in done.stdout
