"""Infrastructure: general pieces that know nothing of backup jobs, tenants or HTTP.

- :mod:`.cache`: :class:`~.cache.BoundedCache`, the one bounded cache every cache of a
  process is made of.

It imports nothing else of backupjobs; every other server package may import it.
"""
