"""Authentication: app registrations, their secrets and certificates, signing keys, tokens."""

from backupjobs.auth.apps import App, IssuedSecret, add_secret, get_app, register_app
from backupjobs.auth.keys import KeyRing, ensure_signing_key
from backupjobs.auth.permissions import ALL_PERMISSIONS, Permission, parse_permissions
from backupjobs.auth.tokens import (
    InvalidTokenError,
    Principal,
    TokenIssuer,
    TokenVerifier,
)

__all__ = [
    "ALL_PERMISSIONS",
    "App",
    "InvalidTokenError",
    "IssuedSecret",
    "KeyRing",
    "Permission",
    "Principal",
    "TokenIssuer",
    "TokenVerifier",
    "add_secret",
    "ensure_signing_key",
    "get_app",
    "parse_permissions",
    "register_app",
]
