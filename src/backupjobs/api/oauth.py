"""OAuth2 token endpoint (client credentials), JWKS and discovery.

Errors here follow RFC 6749 section 5.2 (``{"error": ..., "error_description": ...}``),
not problem details, because OAuth2 client libraries expect that shape.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import msgspec
import structlog
from litestar import Request, Response, get, post
from litestar.openapi.spec import OpenAPIType, Schema

from backupjobs.api.context import Services, services
from backupjobs.api.requests import json_body_operation
from backupjobs.auth.apps import App, authenticate_with_secret
from backupjobs.auth.keys import ALGORITHM
from backupjobs.auth.permissions import ALL_PERMISSIONS

TOKEN_PATH = "/connect/token"  # noqa: S105 - a path, not a secret
CLIENT_CREDENTIALS = "client_credentials"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_audit = structlog.get_logger("backupjobs.audit")


class TokenAnswer(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class OAuthError(msgspec.Struct):
    error: str
    error_description: str


class TokenRequestError(Exception):
    """An RFC 6749 error: ``error`` is the code, ``str()`` the description."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status
        self.headers: dict[str, str] = {}


def token_endpoint(settings_public_url: str) -> str:
    return settings_public_url + TOKEN_PATH


def _form(request: Request[Any, Any, Any], raw: bytes) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise TokenRequestError(
            "invalid_request", "the body must be application/x-www-form-urlencoded"
        )
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise TokenRequestError("invalid_request", "the body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise TokenRequestError("invalid_request", f"parameter {name} is repeated")
        form[name] = value
    return form


def _basic_credentials(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise TokenRequestError("invalid_request", "only Basic client authentication is accepted")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenRequestError("invalid_request", "malformed Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise TokenRequestError("invalid_request", "malformed Basic credentials")
    # RFC 6749 2.3.1: both parts are form-encoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def _requested_scope(form: dict[str, str], app: App) -> frozenset[str]:
    requested = form.get("scope")
    if requested is None or not requested.strip():
        return app.permissions
    wanted = frozenset(requested.split())
    unknown = sorted(wanted - ALL_PERMISSIONS)
    if unknown:
        raise TokenRequestError("invalid_scope", f"unknown scope {' '.join(unknown)}")
    not_granted = sorted(wanted - app.permissions)
    if not_granted:
        raise TokenRequestError(
            "invalid_scope", f"scope not granted to this app: {' '.join(not_granted)}"
        )
    return wanted


async def _authenticate_client(
    request: Request[Any, Any, Any], form: dict[str, str], context: Services, now: datetime
) -> App:
    basic = _basic_credentials(request)
    if basic is not None and ("client_secret" in form or "client_assertion" in form):
        raise TokenRequestError("invalid_request", "use one client authentication method")
    if basic is not None:
        client_id, secret = basic
        if form.get("client_id", client_id) != client_id:
            raise TokenRequestError("invalid_request", "client_id differs from Basic credentials")
    else:
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        if not client_id:
            raise TokenRequestError(
                "invalid_client", "client authentication is required", status=401
            )
        if "client_secret" not in form:
            raise TokenRequestError(
                "invalid_client", "client authentication is required", status=401
            )
    async with context.db.write() as connection:
        app = await authenticate_with_secret(connection, client_id, secret, now=now)
    if app is None:
        error = TokenRequestError(
            "invalid_client", "unknown client, or wrong or expired secret", status=401
        )
        if basic is not None:
            error.headers["WWW-Authenticate"] = 'Basic realm="backupjobs"'
        raise error
    return app


_TOKEN_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["grant_type"],
    properties={
        "grant_type": Schema(type=OpenAPIType.STRING, enum=[CLIENT_CREDENTIALS]),
        "client_id": Schema(type=OpenAPIType.STRING),
        "client_secret": Schema(type=OpenAPIType.STRING),
        "scope": Schema(
            type=OpenAPIType.STRING,
            description="Space-separated permissions; omitted: all granted to the app.",
        ),
    },
)


@post(
    TOKEN_PATH,
    status_code=200,
    summary="Get an access token (OAuth2 client credentials)",
    description=(
        "Client authentication by client_secret (form or HTTP Basic). Errors follow "
        "RFC 6749 section 5.2."
    ),
    responses={},
    operation_class=json_body_operation(
        _TOKEN_FORM,
        "The token request.",
        media_type="application/x-www-form-urlencoded",
        required=True,
    ),
    tags=["oauth2"],
)
async def issue_token(request: Request[Any, Any, Any]) -> Response[Any]:
    context = services(request)
    now = datetime.now(UTC)
    client_id = None
    try:
        form = _form(request, await request.body())
        client_id = form.get("client_id")
        grant_type = form.get("grant_type")
        if not grant_type:
            raise TokenRequestError("invalid_request", "grant_type is required")
        if grant_type != CLIENT_CREDENTIALS:
            raise TokenRequestError(
                "unsupported_grant_type", f"grant_type {grant_type} is not supported"
            )
        app = await _authenticate_client(request, form, context, now)
        client_id = app.client_id
        scope = _requested_scope(form, app)
        token = await context.issuer.issue(app, scope, now=now)
    except TokenRequestError as error:
        context.metrics.tokens.labels(error.error).inc()
        _audit.info(
            "token refused",
            client_id=client_id,
            reason=error.error,
            detail=str(error),
            address=request.client.host if request.client else None,
        )
        return Response(
            OAuthError(error.error, str(error)),
            status_code=error.status,
            headers={**_NO_STORE, **error.headers},
        )
    context.metrics.tokens.labels("issued").inc()
    _audit.info(
        "token issued",
        client_id=client_id,
        scope=" ".join(sorted(scope)),
        address=request.client.host if request.client else None,
    )
    return Response(
        TokenAnswer(token, "Bearer", context.issuer.lifetime, " ".join(sorted(scope))),
        headers=_NO_STORE,
    )


@get("/.well-known/jwks.json", summary="Public keys that verify access tokens", tags=["oauth2"])
async def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await services(request).keys.jwks(datetime.now(UTC))


@get(
    ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"],
    summary="Authorization server metadata",
    tags=["oauth2"],
)
async def discovery(request: Request[Any, Any, Any]) -> dict[str, Any]:
    base = services(request).settings.public_url
    return {
        "issuer": base,
        "token_endpoint": token_endpoint(base),
        "jwks_uri": base + "/.well-known/jwks.json",
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(ALL_PERMISSIONS),
        "response_types_supported": ["token"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "subject_types_supported": ["public"],
    }
