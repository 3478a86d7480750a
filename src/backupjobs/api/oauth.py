"""OAuth2 token endpoint (client credentials), JWKS and discovery.

Clients authenticate with a secret (form or HTTP Basic) or a certificate (RFC 7523
``private_key_jwt``, see :mod:`backupjobs.auth.assertions`). Errors here follow RFC 6749
section 5.2 (``{"error": ..., "error_description": ...}``), not problem details, because
OAuth2 client libraries expect that shape; the exception is 429 (rate limited), which
RFC 6749 has no code for and which every client handles by its status.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import msgspec
import structlog
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

from backupjobs.api.context import AppContext
from backupjobs.api.problems import problem_response, problem_responses
from backupjobs.api.ratelimit import Usage, ratelimit_headers
from backupjobs.auth.apps import App, ClientAuthenticationError, authenticate_with_secret
from backupjobs.auth.assertions import ALGORITHMS as ASSERTION_ALGORITHMS
from backupjobs.auth.assertions import (
    ASSERTION_TYPE,
    authenticate_with_assertion,
    claimed_client,
)
from backupjobs.auth.keys import ALGORITHM
from backupjobs.auth.permissions import ALL_PERMISSIONS

TOKEN_PATH = "/connect/token"  # noqa: S105 - a path, not a secret
CLIENT_CREDENTIALS = "client_credentials"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_LOGGED_ID_LENGTH = 100
# No client string with one is stored or looked up (PostgreSQL text cannot hold it).
_NUL = "\x00"
# One line per token issued or refused: client id, method, reason, address. Never a
# secret or an assertion (descriptions are this module's own words).
_audit = structlog.get_logger("backupjobs.audit")


class TokenAnswer(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class OAuthError(msgspec.Struct):
    error: str
    error_description: str


class RateLimitedError(Exception):
    """Over a token endpoint quota; ``str()`` says which and when to come back."""


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
        if _NUL in name or _NUL in value:
            raise TokenRequestError(
                "invalid_request", f"parameter {name!r} contains a NUL character (%00)"
            )
        form[name] = value
    return form


def _claimed_client(request: Request[Any, Any, Any], raw: bytes) -> str | None:
    """The client id a request names, unchecked and without raising: for logs only."""
    try:
        form = _form(request, raw)
        return _client_authentication(request, form).claimed
    except TokenRequestError:
        return None


def _loggable(client_id: str | None) -> str | None:
    """A claimed client id, cut short: whoever calls may send anything."""
    return client_id[:_LOGGED_ID_LENGTH] if client_id else client_id


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
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if _NUL in client_id or _NUL in secret:
        raise TokenRequestError("invalid_request", "the Basic credentials contain a NUL character")
    return client_id, secret


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


@dataclass(frozen=True, slots=True)
class ClientAuthentication:
    """How the client authenticates, as the request says (nothing checked yet)."""

    #: ``client_secret_post``, ``client_secret_basic`` or ``private_key_jwt``.
    method: str
    #: The client id in the form or Basic credentials (optional with an assertion).
    client_id: str | None
    secret: str = ""
    assertion: str = ""

    @property
    def claimed(self) -> str | None:
        """Who the request says it is, unchecked: for logs."""
        return self.client_id or (claimed_client(self.assertion) if self.assertion else None)


def _client_authentication(
    request: Request[Any, Any, Any], form: dict[str, str]
) -> ClientAuthentication:
    basic = _basic_credentials(request)
    asserted = "client_assertion" in form or "client_assertion_type" in form
    if sum((basic is not None, asserted, "client_secret" in form)) > 1:
        raise TokenRequestError("invalid_request", "use one client authentication method")
    if basic is not None:
        client_id, secret = basic
        if form.get("client_id", client_id) != client_id:
            raise TokenRequestError("invalid_request", "client_id differs from Basic credentials")
        return ClientAuthentication("client_secret_basic", client_id, secret=secret)
    if asserted:
        assertion_type = form.get("client_assertion_type")
        if assertion_type != ASSERTION_TYPE:
            raise TokenRequestError(
                "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}"
            )
        assertion = form.get("client_assertion", "")
        if not assertion:
            raise TokenRequestError("invalid_request", "client_assertion is required")
        return ClientAuthentication("private_key_jwt", form.get("client_id"), assertion=assertion)
    posted_id = form.get("client_id")
    if not posted_id or "client_secret" not in form:
        raise TokenRequestError("invalid_client", "client authentication is required", status=401)
    return ClientAuthentication("client_secret_post", posted_id, secret=form["client_secret"])


async def _authenticate_client(
    credentials: ClientAuthentication, context: AppContext, now: datetime
) -> tuple[App, str | None]:
    """The authenticated app, and the thumbprint of the certificate that signed for it."""
    try:
        async with context.db.write() as connection:
            if credentials.method == "private_key_jwt":
                app, certificate = await authenticate_with_assertion(
                    connection,
                    credentials.assertion,
                    client_id=credentials.client_id,
                    audience=token_endpoint(context.settings.public_url),
                    now=now,
                )
                return app, certificate.thumbprint
            assert credentials.client_id is not None
            app = await authenticate_with_secret(
                connection, credentials.client_id, credentials.secret, now=now
            )
            return app, None
    except ClientAuthenticationError as refused:
        error = TokenRequestError("invalid_client", str(refused), status=401)
        if credentials.method == "client_secret_basic":
            error.headers["WWW-Authenticate"] = 'Basic realm="backupjobs"'
        raise error from None


# --- the token endpoint in the OpenAPI document -------------------------------------------

# No client string may hold a NUL character (a 400 invalid_request).
_NO_NUL = "^[^\\x00]*$"


def _text(description: str, *, min_length: int = 0) -> Schema:
    return Schema(
        type=OpenAPIType.STRING,
        pattern=_NO_NUL,
        min_length=min_length or None,
        description=description,
    )


_GRANT_TYPE = Schema(type=OpenAPIType.STRING, enum=[CLIENT_CREDENTIALS])
_SCOPE = _text("Space-separated permissions; omitted: all granted to the app.")


def _form_shape(description: str, required: list[str], **fields: Schema) -> Schema:
    return Schema(
        type=OpenAPIType.OBJECT,
        description=description,
        required=["grant_type", *required],
        properties={"grant_type": _GRANT_TYPE, **fields, "scope": _SCOPE},
        additional_properties=False,
    )


#: One of three ways to authenticate (two at once is a 400 invalid_request).
_TOKEN_FORM = Schema(
    one_of=[
        _form_shape(
            "client_secret_post: the client id and a secret of the app.",
            ["client_id", "client_secret"],
            client_id=_text("The app's client id."),
            client_secret=_text("A client secret of the app."),
        ),
        _form_shape(
            "private_key_jwt (RFC 7523): an assertion signed with a registered certificate.",
            ["client_assertion_type", "client_assertion"],
            client_assertion_type=Schema(type=OpenAPIType.STRING, enum=[ASSERTION_TYPE]),
            client_assertion=_text(
                "A JWT signed with a registered certificate's private key: iss = sub = "
                "client_id, aud = this token endpoint's URL, exp at most 10 minutes ahead, "
                "a jti used once.",
                min_length=1,
            ),
            client_id=_text("Optional; if given, the assertion's iss."),
        ),
        _form_shape(
            "client_secret_basic: the client id and secret in an `Authorization: Basic` "
            "header (each form-encoded, then base64); the form names no client.",
            [],
        ),
    ]
)


def _oauth_error(codes: list[str], description: str) -> Schema:
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["error", "error_description"],
        properties={
            "error": Schema(type=OpenAPIType.STRING, enum=codes),
            "error_description": Schema(type=OpenAPIType.STRING),
        },
        description=description,
    )


_NO_STORE_HEADERS: dict[str, OpenAPIHeader | Reference] = {
    "Cache-Control": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING, enum=["no-store"])),
}


@dataclass
class _TokenOperation(Operation):
    """The token endpoint as it answers: its form (one of three ways to authenticate),
    the token, and each RFC 6749 error (section 5.2) with its status."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"application/x-www-form-urlencoded": OpenAPIMediaType(schema=_TOKEN_FORM)},
            description="The token request (grant_type client_credentials).",
            required=True,
        )
        json = "application/json"
        responses = dict(self.responses or {})
        responses["200"] = OpenAPIResponse(
            description="An access token (RFC 9068 JWT), valid expires_in seconds.",
            content={
                json: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["access_token", "token_type", "expires_in", "scope"],
                        properties={
                            "access_token": Schema(type=OpenAPIType.STRING),
                            "token_type": Schema(type=OpenAPIType.STRING, enum=["Bearer"]),
                            "expires_in": Schema(type=OpenAPIType.INTEGER, minimum=1),
                            "scope": Schema(
                                type=OpenAPIType.STRING,
                                description="The permissions granted, space-separated.",
                            ),
                        },
                    )
                )
            },
            headers=dict(_NO_STORE_HEADERS),
        )
        responses["400"] = OpenAPIResponse(
            description=(
                "invalid_request (not form-encoded, grant_type missing, a parameter "
                "repeated or holding a NUL character, two ways of authenticating, a bad "
                "client_assertion_type or Authorization header), unsupported_grant_type "
                "(anything but client_credentials), invalid_scope (a permission that does "
                "not exist or is not the app's). invalid_grant is never sent: this grant "
                "has nothing else to be invalid."
            ),
            content={
                json: OpenAPIMediaType(
                    schema=_oauth_error(
                        ["invalid_request", "unsupported_grant_type", "invalid_scope"],
                        "RFC 6749 section 5.2.",
                    )
                )
            },
            headers=dict(_NO_STORE_HEADERS),
        )
        responses["401"] = OpenAPIResponse(
            description=(
                "invalid_client: unknown client, wrong or expired secret, no client "
                "authentication, or an assertion that is refused (the description says "
                "why). With Basic credentials, `WWW-Authenticate: Basic`."
            ),
            content={
                json: OpenAPIMediaType(
                    schema=_oauth_error(["invalid_client"], "RFC 6749 section 5.2.")
                )
            },
            headers={
                **_NO_STORE_HEADERS,
                "WWW-Authenticate": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.STRING),
                    description='Basic realm="backupjobs", when Basic credentials were sent.',
                ),
            },
        )
        self.responses = responses


@post(
    TOKEN_PATH,
    status_code=200,
    summary="Get an access token (OAuth2 client credentials)",
    description=(
        "Client authentication by client_secret (form or HTTP Basic) or by a certificate "
        "(RFC 7523 private_key_jwt: client_assertion_type "
        f"`{ASSERTION_TYPE}` and a client_assertion JWT signed with the certificate's key). "
        "Errors follow RFC 6749 section 5.2, except 429 (rate limited), a problem."
    ),
    responses=problem_responses(429),
    operation_class=_TokenOperation,
    tags=["oauth2"],
)
async def issue_token(
    request: Request[Any, Any, Any], context: NamedDependency[AppContext]
) -> Response[Any]:
    limiter = context.limiter
    now = datetime.now(UTC)
    address = request.client.host if request.client else "unknown"
    audit = _audit.bind(address=address)
    usages: list[Usage] = []
    client_id: str | None = None
    method: str | None = None
    try:
        raw = await request.body()
        by_address = await limiter.hit(limiter.token_address, address)
        if by_address is not None:
            usages.append(by_address)
            if by_address.limited:
                client_id = _claimed_client(request, raw)
                raise RateLimitedError(by_address.refusal("from this address"))
        form = _form(request, raw)
        client_id = form.get("client_id")
        grant_type = form.get("grant_type")
        if not grant_type:
            raise TokenRequestError("invalid_request", "grant_type is required")
        if grant_type != CLIENT_CREDENTIALS:
            raise TokenRequestError(
                "unsupported_grant_type", f"grant_type {grant_type} is not supported"
            )
        credentials = _client_authentication(request, form)
        client_id, method = credentials.claimed, credentials.method
        app, thumbprint = await _authenticate_client(credentials, context, now)
        by_client = await limiter.hit(limiter.token_client, app.client_id)
        if by_client is not None:
            usages.append(by_client)
            if by_client.limited:
                raise RateLimitedError(by_client.refusal("for this client"))
        scope = _requested_scope(form, app)
        token = await context.issuer.issue(app, scope, now=now)
    except TokenRequestError as error:
        context.metrics.tokens.labels(error.error).inc()
        audit.info(
            "token refused",
            client_id=_loggable(client_id),
            method=method,
            reason=error.error,
            detail=str(error),
        )
        return Response(
            OAuthError(error.error, str(error)),
            status_code=error.status,
            headers={**_NO_STORE, **error.headers, **ratelimit_headers(usages)},
        )
    except RateLimitedError as error:
        context.metrics.tokens.labels("rate_limited").inc()
        audit.info(
            "token refused",
            client_id=_loggable(client_id),
            method=method,
            reason="rate_limited",
            detail=str(error),
        )
        return problem_response(
            request, 429, str(error), headers={**_NO_STORE, **ratelimit_headers(usages)}
        )
    context.metrics.tokens.labels("issued").inc()
    granted = " ".join(sorted(scope))
    audit.info(
        "token issued",
        client_id=app.client_id,
        method=method,
        certificate=thumbprint,
        scope=granted,
    )
    return Response(
        TokenAnswer(token, "Bearer", context.issuer.lifetime, granted),
        headers={**_NO_STORE, **ratelimit_headers(usages)},
    )


@get("/.well-known/jwks.json", summary="Public keys that verify access tokens", tags=["oauth2"])
async def jwks(context: NamedDependency[AppContext]) -> dict[str, Any]:
    return await context.keys.jwks(datetime.now(UTC))


@get(
    ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"],
    summary="Authorization server metadata",
    tags=["oauth2"],
)
async def discovery(context: NamedDependency[AppContext]) -> dict[str, Any]:
    base = context.settings.public_url
    return {
        "issuer": base,
        "token_endpoint": token_endpoint(base),
        "jwks_uri": base + "/.well-known/jwks.json",
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": sorted(ALL_PERMISSIONS),
        "response_types_supported": ["token"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "subject_types_supported": ["public"],
    }
