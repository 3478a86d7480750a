"""Alerts: signed webhooks, incidents and stale detection (SPEC §10.5).

- :mod:`.service`: subscriptions made, changed, rotated, pinged, redelivered (for the
  API and the dashboard, without HTTP);
- :class:`.deliverer.Deliverer`: sends due deliveries in every server process;
- :func:`.stale.watch_stale`: stale detection every minute, one process at a time;
- :mod:`.destinations` (which URLs may receive), :mod:`.payloads` (what is posted).

The events themselves are written by the store in the transaction of their cause
(:mod:`backupjobs.store.incidents`); statements are in :mod:`backupjobs.store.webhooks`.
"""

from backupjobs.alerts.deliverer import Deliverer
from backupjobs.alerts.metrics import AlertMetrics
from backupjobs.alerts.runtime import Alerts
from backupjobs.alerts.stale import watch_stale

__all__ = ["AlertMetrics", "Alerts", "Deliverer", "watch_stale"]
