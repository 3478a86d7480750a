"""``backupjobs demo`` as the README's first command runs it."""

import re
import shutil
import subprocess
import time

import httpx
import pytest

from tests.processes import BACKUPJOBS, environment, free_port, wait_healthy

pytestmark = pytest.mark.slow


def test_demo_prints_working_credentials_and_requests(tmp_path):
    port = free_port()
    env = environment("")
    del env["BACKUPJOBS_DATABASE_URL"]
    log = tmp_path / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*BACKUPJOBS, "demo", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, log, timeout=120)
        text = log.read_text()
        client_id = re.search(r"client_id\s+(\S+)", text).group(1)
        secret = re.search(r"client_secret\s+(\S+)", text).group(1)
        customer = re.search(r"customer id\s+(\S+)", text).group(1)
        token = httpx.post(
            f"{url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        customers = httpx.post(
            f"{url}/partner/external/v3/general/customers/batch", headers=headers
        ).json()
        assert customers["metadata"]["totalCount"] >= 5
        statuses = set()
        placeholders = 0
        for row in customers["data"]:
            page = httpx.post(
                f"{url}/partner/external/v3/general/customers/{row['customerId']}/jobs",
                headers=headers,
            ).json()
            statuses |= {r["status"] for r in page["data"]}
            placeholders += sum(r["jobId"] == "N/A" for r in page["data"])
        assert {1, 2, 3, 4} <= statuses, statuses  # running, finished, failed, with exception
        assert placeholders >= 1  # a service that never ran
        assert (tmp_path / "backupjobs.db").exists()
        if shutil.which("curl") and shutil.which("bash"):
            commands = [
                line.strip()
                for line in text.splitlines()
                if line.strip().startswith(("TOKEN=", "curl -s"))
            ]
            assert len(commands) == 3  # token, v3, Modern
            done = subprocess.run(
                ["bash", "-c", "\n".join(commands)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert '"data":[' in done.stdout and customer in text
            assert '"@odata.context":' in done.stdout
            assert '"jobModule":"SharePoint Online"' in done.stdout
    finally:
        subprocess.run(["pkill", "-TERM", "-g", str(process.pid)], check=False)
        process.wait(timeout=30)
        time.sleep(0.1)
