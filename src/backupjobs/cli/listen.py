"""``backupjobs webhooks listen``: a local receiver that verifies and prints deliveries.

    BACKUPJOBS_WEBHOOK_SECRET=whsec_... backupjobs webhooks listen --port 9000

For trying alerts out: each delivery whose signature verifies is printed as one JSON line
and answered 204; any other is refused with 401 and said on stderr. It needs only the SDK.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import typer

from backupjobs.sdk.webhooks import WebhookVerificationError, WebhookVerifier

SECRET_VARIABLE = "BACKUPJOBS_WEBHOOK_SECRET"  # noqa: S105 - a variable name
group = typer.Typer(help="Webhook tools.", no_args_is_help=True)


def _secret(secret_file: Path | None) -> str:
    if secret_file is not None:
        return secret_file.read_text().strip()
    found = os.environ.get(SECRET_VARIABLE, "").strip()
    if not found:
        typer.echo(f"Give the webhook's secret in {SECRET_VARIABLE} or --secret-file.", err=True)
        raise typer.Exit(2)
    return found


def make_handler(verifier: WebhookVerifier) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = verifier.verify(body, dict(self.headers.items()))
            except (WebhookVerificationError, ValueError) as error:
                sys.stderr.write(f"refused: {error}\n")
                sys.stderr.flush()
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            line = {"id": self.headers.get("webhook-id"), **event}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@group.command("listen")
def listen(
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 9000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    secret_file: Annotated[
        Path | None,
        typer.Option(
            "--secret-file",
            help=f"A file holding the secret (else {SECRET_VARIABLE}).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Receive webhooks on HOST:PORT, verify their signatures, print each event."""
    verifier = WebhookVerifier(_secret(secret_file))
    server = ThreadingHTTPServer((host, port), make_handler(verifier))
    typer.echo(f"Listening on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
