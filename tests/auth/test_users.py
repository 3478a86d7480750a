"""Dashboard users' passwords and addresses."""

import pytest

from backupjobs.auth import users
from backupjobs.auth.users import Role, UserError


def test_passwords_are_hashed_with_argon2id_and_verified():
    hashed = users.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert users.verify_password(hashed, "correct horse battery staple")
    assert not users.verify_password(hashed, "correct horse battery stapl")
    assert not users.verify_password("not a hash", "anything")
    # No user: still an Argon2 verification, and never a match.
    assert not users.verify_password(None, "anything")


def test_one_time_passwords_are_long_and_random():
    made = {users.one_time_password() for _ in range(50)}
    assert len(made) == 50
    assert min(len(password) for password in made) >= 20


def test_addresses_are_matched_without_regard_to_case():
    assert users.normalise_email("  Ops@MSP.Example ") == "ops@msp.example"
    for bad in ("", "ops", "ops@", "@msp.example", "a b@msp.example", "x@" + "y" * 330 + ".io"):
        with pytest.raises(UserError, match="not an email address"):
            users.normalise_email(bad)


def test_roles():
    assert users.parse_role("Admin") is Role.ADMIN
    with pytest.raises(UserError, match="use viewer or admin"):
        users.parse_role("owner")


def test_a_chosen_password_is_checked():
    users.check_new_password("twelve chars", email="ops@msp.example")
    for bad, said in (
        ("short", "at least 12"),
        ("x" * 257, "at most 256"),
        ("ops@msp.example", "not be the email"),
    ):
        with pytest.raises(UserError, match=said):
            users.check_new_password(bad, email="ops@msp.example")
