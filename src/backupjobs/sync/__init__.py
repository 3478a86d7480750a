"""Upstream sync: a partner's vendor tenant mirrored here, run after run (SPEC §10.7).

The vendor's API shows each backup service's latest job only; reading it every few
minutes and storing each job through ingestion keeps the history it drops.

- :mod:`.rows`: an upstream job row (read by the SDK) back into a :class:`JobRecord`.
- :mod:`.runner`: one run of one upstream (:func:`run_upstream`): its lease, customers,
  each customer's jobs a few at a time, the run's record.
- :mod:`.schedule`: the upstreams due, run on their interval (``serve``, ``sync run``).

It reads the upstream with the SDK (:class:`~backupjobs.sdk.AsyncClient`, its retries)
and writes through :mod:`backupjobs.store` (the :class:`~backupjobs.store.ingestion.Ingestor`).
"""

from backupjobs.sync.runner import RunOutcome, SyncOptions, run_upstream
from backupjobs.sync.schedule import keep_syncing, run_due

__all__ = ["RunOutcome", "SyncOptions", "keep_syncing", "run_due", "run_upstream"]
