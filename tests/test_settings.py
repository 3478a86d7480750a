"""Settings from BACKUPJOBS_* variables: the ones this module's tests own."""

from datetime import timedelta

import pytest

from backupjobs.settings import Settings, SettingsError


def test_retention_days_must_not_be_negative():
    assert Settings.from_env({"BACKUPJOBS_RETENTION_DAYS": "30"}).retention_days == 30
    assert Settings.from_env({}).retention_days == 0
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        Settings.from_env({"BACKUPJOBS_RETENTION_DAYS": "-1"})


def test_the_stale_threshold_is_an_iso_8601_duration_and_goes_round_trip():
    assert Settings().stale_after == timedelta(hours=36)
    settings = Settings.from_env({"BACKUPJOBS_STALE_AFTER": "P2D"})
    assert settings.stale_after == timedelta(days=2)
    assert Settings.from_env(settings.to_env()).stale_after == timedelta(days=2)
    with pytest.raises(SettingsError, match=r"BACKUPJOBS_STALE_AFTER.*ISO 8601"):
        Settings.from_env({"BACKUPJOBS_STALE_AFTER": "36 hours"})


def test_sync_settings():
    settings = Settings.from_env(
        {"BACKUPJOBS_SYNC_CONCURRENCY": "8", "BACKUPJOBS_SYNC_IN_SERVE": "false"}
    )
    assert (settings.sync_concurrency, settings.sync_timeout, settings.sync_in_serve) == (
        8,
        30.0,
        False,
    )
    with pytest.raises(SettingsError, match="SYNC_CONCURRENCY must be at least 1"):
        Settings.from_env({"BACKUPJOBS_SYNC_CONCURRENCY": "0"})
    with pytest.raises(SettingsError, match="SYNC_TIMEOUT"):
        Settings.from_env({"BACKUPJOBS_SYNC_TIMEOUT": "0"})
