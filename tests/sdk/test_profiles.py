"""Client settings from the environment and from a profile file."""

import os

import pytest

from backupjobs.sdk import Client, ClientCertificate, ClientSecret, ConfigurationError
from backupjobs.sdk.profiles import load_profile
from tests.auth.credentials import certificate_pem, private_key, private_key_pem

ENV = {
    "BACKUPJOBS_API_URL": "https://backup.example.com",
    "BACKUPJOBS_CLIENT_ID": "env-client",
    "BACKUPJOBS_CLIENT_SECRET": "bjs_env",
}


def profile_file(folder, text, mode=0o600):
    path = folder / "profiles.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_environment_alone(tmp_path):
    environ = {**ENV, "XDG_CONFIG_HOME": str(tmp_path), "BACKUPJOBS_SCOPE": "a b"}
    profile = load_profile(environ=environ)
    assert (profile.api_url, profile.client_id, profile.scope) == (
        "https://backup.example.com",
        "env-client",
        "a b",
    )
    assert profile.source == "the environment"
    assert "bjs_env" not in repr(profile)
    assert isinstance(profile.credential(), ClientSecret)
    with Client.from_profile(profile) as client:
        assert client.token_url == "https://backup.example.com/connect/token"


def test_a_named_profile_with_the_environment_over_it(tmp_path):
    key = private_key("rsa", 0)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "partner.key").write_bytes(private_key_pem(key))
    (tmp_path / "keys" / "partner.pem").write_bytes(certificate_pem(key))
    path = profile_file(
        tmp_path,
        """
[default]
api_url = "http://127.0.0.1:8000"
client_id = "local"
client_secret = "bjs_local"

[vendor]
api_url = "https://graph.example.com"
token_url = "https://identity.example.com/connect/token"
client_id = "vendor-client"
private_key = "keys/partner.key"
certificate = "keys/partner.pem"
scope = ["partner.jobs.read.all", "partner.customers.read.all"]
""",
    )
    environ = {"BACKUPJOBS_PROFILE_FILE": str(path)}
    local = load_profile(environ=environ)
    assert (local.client_id, local.client_secret) == ("local", "bjs_local")
    assert str(path) in local.source

    vendor = load_profile("vendor", environ=environ)
    assert vendor.token_url == "https://identity.example.com/connect/token"
    assert vendor.scope == "partner.jobs.read.all partner.customers.read.all"
    assert vendor.private_key == tmp_path / "keys" / "partner.key"  # from the file's folder
    assert isinstance(vendor.credential(), ClientCertificate)
    with Client.from_profile(vendor) as client:
        assert client.token_url == "https://identity.example.com/connect/token"

    # BACKUPJOBS_PROFILE picks it; a variable wins over its setting; a credential in the
    # environment replaces the file's whole (no key from one and secret from the other).
    overridden = load_profile(
        environ={
            **environ,
            "BACKUPJOBS_PROFILE": "vendor",
            "BACKUPJOBS_API_URL": "https://graph-eu.example.com",
            "BACKUPJOBS_CLIENT_SECRET": "bjs_env",
        }
    )
    assert overridden.api_url == "https://graph-eu.example.com"
    assert overridden.token_url == "https://identity.example.com/connect/token"
    assert (overridden.private_key, overridden.certificate) == (None, None)
    assert isinstance(overridden.credential(), ClientSecret)


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("", {}, "no api_url"),
        ('[default]\napi_url = "https://x.example"\n', {}, "no client_id"),
        (
            '[default]\napi_url = "https://x.example"\nclient_id = "c"\n',
            {},
            "no credential",
        ),
        (
            '[default]\napi_url = "https://x.example"\nclient = "c"\n',
            {},
            "unknown setting 'client'",
        ),
        ("[default\n", {}, "not valid TOML"),
        ('[other]\napi_url = "x"\n', {"BACKUPJOBS_PROFILE": "mine"}, "no profile 'mine'"),
        (
            '[default]\napi_url = "h"\nclient_id = "c"\ncertificate = "c.pem"\n',
            {},
            "without its private_key",
        ),
    ],
)
def test_what_is_missing_is_named(tmp_path, text, environ, message):
    path = profile_file(tmp_path, text)
    with pytest.raises(ConfigurationError, match=message):
        load_profile(environ={"BACKUPJOBS_PROFILE_FILE": str(path), **environ}).credential()


def test_a_secret_and_a_key_together_are_ambiguous(tmp_path):
    environ = {**ENV, "XDG_CONFIG_HOME": str(tmp_path), "BACKUPJOBS_CLIENT_KEY": "k.pem"}
    with pytest.raises(ConfigurationError, match="both a client secret and a private key"):
        load_profile(environ=environ).credential()


def test_a_profile_file_must_exist_when_named(tmp_path):
    with pytest.raises(ConfigurationError, match="no profile file"):
        load_profile(environ={**ENV, "BACKUPJOBS_PROFILE_FILE": str(tmp_path / "none.toml")})
    with pytest.raises(ConfigurationError, match="no profile file"):
        load_profile("vendor", environ={**ENV, "XDG_CONFIG_HOME": str(tmp_path)})


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_secret_in_a_file_others_can_read_is_refused(tmp_path):
    text = '[default]\napi_url = "https://x.example"\nclient_id = "c"\nclient_secret = "bjs_s"\n'
    path = profile_file(tmp_path, text, mode=0o644)
    with pytest.raises(ConfigurationError, match="chmod 600") as refused:
        load_profile(environ={"BACKUPJOBS_PROFILE_FILE": str(path)})
    assert "bjs_s" not in str(refused.value)
    path.chmod(0o600)
    assert load_profile(environ={"BACKUPJOBS_PROFILE_FILE": str(path)}).client_id == "c"
    # Without a secret (a certificate's paths only) the file may be shared.
    path.write_text('[default]\napi_url = "https://x.example"\nclient_id = "c"\n')
    path.chmod(0o644)
    assert load_profile(environ={"BACKUPJOBS_PROFILE_FILE": str(path)}).client_secret is None


def test_bad_urls_are_refused():
    with pytest.raises(ConfigurationError, match="API base URL"):
        Client("backup.example.com", ClientSecret("c", "s"))
    with pytest.raises(ConfigurationError, match="token URL"):
        Client("https://backup.example.com", ClientSecret("c", "s"), token_url="ftp://x/token")
