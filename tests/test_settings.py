"""Settings from BACKUPJOBS_* variables: the ones this module's tests own."""

import pytest

from backupjobs.settings import Settings, SettingsError


def test_retention_days_must_not_be_negative():
    assert Settings.from_env({"BACKUPJOBS_RETENTION_DAYS": "30"}).retention_days == 30
    assert Settings.from_env({}).retention_days == 0
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        Settings.from_env({"BACKUPJOBS_RETENTION_DAYS": "-1"})
