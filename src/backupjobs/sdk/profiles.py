"""Where a client's settings come from: environment variables, or a profile file.

>>> # export BACKUPJOBS_API_URL=https://backup.example.com
>>> # export BACKUPJOBS_CLIENT_ID=... BACKUPJOBS_CLIENT_SECRET=...
>>> # from backupjobs.sdk import Client
>>> # with Client.from_profile() as client: ...

A profile file is TOML, one table per profile (``~/.config/backupjobs/profiles.toml``
unless ``BACKUPJOBS_PROFILE_FILE`` names another)::

    [default]
    api_url = "https://backup.example.com"
    client_id = "4ee6c09f-..."
    client_secret = "bjs_..."

    [vendor]
    api_url = "https://graph.avepointonlineservices.com"
    token_url = "https://identity.avepointonlineservices.com/connect/token"
    client_id = "..."
    private_key = "~/keys/partner.key"     # a relative path is from this file's folder
    certificate = "~/keys/partner.pem"
    scope = ["partner.jobs.read.all", "partner.customers.read.all"]

Environment variables win over the file, setting by setting; the credential (a secret,
or a key and certificate) is taken whole from the first place that has one.
A file holding a secret must not be readable by other users (``chmod 600``).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backupjobs.sdk.credentials import ClientCertificate, ClientSecret, Credential
from backupjobs.sdk.errors import ConfigurationError

#: Environment variables and the profile key each one stands for.
ENVIRONMENT = {
    "BACKUPJOBS_API_URL": "api_url",
    "BACKUPJOBS_TOKEN_URL": "token_url",
    "BACKUPJOBS_CLIENT_ID": "client_id",
    "BACKUPJOBS_CLIENT_SECRET": "client_secret",
    "BACKUPJOBS_CLIENT_KEY": "private_key",
    "BACKUPJOBS_CLIENT_CERTIFICATE": "certificate",
    "BACKUPJOBS_SCOPE": "scope",
}
PROFILE_VARIABLE = "BACKUPJOBS_PROFILE"
PROFILE_FILE_VARIABLE = "BACKUPJOBS_PROFILE_FILE"
DEFAULT_PROFILE = "default"
_KEYS = frozenset(ENVIRONMENT.values())
_CREDENTIAL_KEYS = ("client_secret", "private_key", "certificate")


@dataclass(frozen=True, slots=True)
class Profile:
    """A client's settings, wherever they came from (``source`` says, for messages)."""

    api_url: str
    client_id: str
    token_url: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    private_key: Path | None = None
    certificate: Path | None = None
    scope: str | None = None
    source: str = "the environment"

    def credential(self) -> Credential:
        """The secret, or the certificate read from its files."""
        if self.private_key is not None and self.client_secret is not None:
            raise ConfigurationError(
                f"{self.source} gives both a client secret and a private key: keep one"
            )
        if self.private_key is not None:
            return ClientCertificate.from_files(self.client_id, self.private_key, self.certificate)
        if self.client_secret is None:
            raise ConfigurationError(
                f"no credential in {self.source}: set a client secret "
                "(BACKUPJOBS_CLIENT_SECRET) or a private key and certificate "
                "(BACKUPJOBS_CLIENT_KEY, BACKUPJOBS_CLIENT_CERTIFICATE)"
            )
        return ClientSecret(self.client_id, self.client_secret)


def default_profile_file(environ: Mapping[str, str]) -> Path:
    if environ.get(PROFILE_FILE_VARIABLE):
        return Path(environ[PROFILE_FILE_VARIABLE]).expanduser()
    config_home = environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(config_home) / "backupjobs" / "profiles.toml"


def load_profile(
    name: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Profile:
    """The profile ``name`` (``BACKUPJOBS_PROFILE``, else ``default``) from ``path``
    (default :func:`default_profile_file`), overridden by ``BACKUPJOBS_*`` variables.

    Without a file, the environment alone must give the API URL, the client id and a
    credential. Raises :class:`~backupjobs.sdk.ConfigurationError` saying what is missing.
    """
    environ = os.environ if environ is None else environ
    wanted = name or environ.get(PROFILE_VARIABLE) or None
    file = Path(path).expanduser() if path is not None else default_profile_file(environ)
    from_file: dict[str, Any] = {}
    source = "the environment"
    if file.exists():
        from_file = _read_section(file, wanted or DEFAULT_PROFILE, required=wanted is not None)
        if from_file:
            source = f"profile {wanted or DEFAULT_PROFILE!r} of {file}"
    elif wanted is not None or path is not None or environ.get(PROFILE_FILE_VARIABLE):
        raise ConfigurationError(f"no profile file at {file}")
    from_env = {
        key: environ[variable] for variable, key in ENVIRONMENT.items() if environ.get(variable)
    }
    settings = {**from_file, **from_env}
    credential_source = from_env if any(k in from_env for k in _CREDENTIAL_KEYS) else from_file
    for key in _CREDENTIAL_KEYS:
        settings.pop(key, None)
        if key in credential_source:
            settings[key] = credential_source[key]
    return _profile(settings, source)


def _read_section(file: Path, name: str, *, required: bool) -> dict[str, Any]:
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"cannot read {file}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{file} is not valid TOML: {error}") from None
    section = document.get(name)
    if section is None:
        if required:
            known = ", ".join(sorted(document)) or "none"
            raise ConfigurationError(f"no profile {name!r} in {file} (profiles: {known})")
        return {}
    if not isinstance(section, dict):
        raise ConfigurationError(f"profile {name!r} in {file} must be a table")
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigurationError(
            f"unknown setting {sorted(unknown)[0]!r} in profile {name!r} of {file} "
            f"(known: {', '.join(sorted(_KEYS))})"
        )
    if "client_secret" in section:
        _require_private(file)
    found = dict(section)
    for key in ("private_key", "certificate"):
        # Relative to the file's folder, as the reader of the file expects.
        if isinstance(found.get(key), str):
            found[key] = str(file.parent / Path(found[key]).expanduser())
    return found


def _require_private(file: Path) -> None:
    """A secret in a file others can read is refused, as ssh refuses such a key."""
    if os.name != "posix":
        return
    mode = file.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{file} holds a client secret and other users can read it "
            f"(mode {stat.filemode(mode)}): run chmod 600 {file}"
        )


def _text(settings: Mapping[str, Any], key: str, source: str) -> str | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{key} in {source} must be a non-empty string")
    return value.strip()


def _required(settings: Mapping[str, Any], key: str, source: str) -> str:
    value = _text(settings, key, source)
    if value is None:
        variable = next(name for name, known in ENVIRONMENT.items() if known == key)
        raise ConfigurationError(f"no {key} in {source} (or {variable})")
    return value


def _profile(settings: Mapping[str, Any], source: str) -> Profile:
    api_url = _required(settings, "api_url", source)
    client_id = _required(settings, "client_id", source)
    scope = settings.get("scope")
    if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
        scope = " ".join(scope)
    key_file = _text(settings, "private_key", source)
    certificate_file = _text(settings, "certificate", source)
    if certificate_file is not None and key_file is None:
        raise ConfigurationError(f"a certificate without its private_key in {source}")
    return Profile(
        api_url=api_url,
        client_id=client_id,
        token_url=_text(settings, "token_url", source),
        client_secret=_text(settings, "client_secret", source),
        private_key=Path(key_file).expanduser() if key_file else None,
        certificate=Path(certificate_file).expanduser() if certificate_file else None,
        scope=_text({"scope": scope}, "scope", source),
        source=source,
    )
