"""``backupjobs client webhooks ...`` and ``backupjobs webhooks listen`` against a real
server: a subscription made, pinged, received and verified by the local listener."""

import json
import subprocess
import time

import pytest
from typer.testing import CliRunner

from backupjobs.cli import app
from tests.processes import BACKUPJOBS, Operator, environment, free_port, running_server

pytestmark = pytest.mark.slow

runner = CliRunner()


def _partner(env, *args):
    result = runner.invoke(app, ["client", "webhooks", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_webhook_made_and_pinged_from_the_command_line_reaches_the_listener(tmp_path):
    env = environment(
        f"sqlite:///{tmp_path / 'backupjobs.db'}", BACKUPJOBS_WEBHOOK_ALLOW_PRIVATE="true"
    )
    operator = Operator.setup(env, permissions=("elements.alerts.manage.all",))
    port = free_port()
    with running_server(env, tmp_path / "server.log") as server:
        partner_env = {
            "BACKUPJOBS_API_URL": server.url,
            "BACKUPJOBS_CLIENT_ID": operator.client_id,
            "BACKUPJOBS_CLIENT_SECRET": operator.client_secret,
            "BACKUPJOBS_PROFILE": None,
            "BACKUPJOBS_PROFILE_FILE": None,
            "XDG_CONFIG_HOME": "/nonexistent",
        }
        (made,) = json.loads(
            _partner(
                partner_env,
                "create",
                f"http://127.0.0.1:{port}/",
                "--event",
                "job.failed",
                "--webhook-format",
                "standard",
            )
        )
        secret_file = tmp_path / "secret"
        secret_file.write_text(made["secret"])
        listener = subprocess.Popen(
            [
                *BACKUPJOBS,
                "webhooks",
                "listen",
                "--port",
                str(port),
                "--secret-file",
                str(secret_file),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1.5)
            assert "ping" in _partner(partner_env, "test", made["id"])
            line = listener.stdout.readline()
            event = json.loads(line)
            assert event["type"] == "ping" and event["id"]
            listed = _partner(partner_env, "list")
            assert made["id"] in listed and "job.failed" in listed
            # The listener answers after it prints: it runs until the delivery is recorded.
            deadline = time.monotonic() + 10
            while True:
                (delivery,) = json.loads(
                    _partner(partner_env, "deliveries", made["id"], "--format", "json")
                )
                if delivery["status"] == "delivered" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        finally:
            listener.terminate()
            listener.wait(10)
        assert delivery["status"] == "delivered" and delivery["lastResponseStatus"] == 204
        changed = json.loads(
            _partner(partner_env, "update", made["id"], "--disabled", "--format", "json")
        )
        assert changed[0]["enabled"] is False
        _partner(partner_env, "delete", made["id"])
        assert made["id"] not in _partner(partner_env, "list", "--format", "json")


def test_the_listener_needs_a_secret():
    result = runner.invoke(app, ["webhooks", "listen"], env={"BACKUPJOBS_WEBHOOK_SECRET": ""})
    assert result.exit_code == 2
    assert "BACKUPJOBS_WEBHOOK_SECRET" in result.output
