"""Infrastructure: general pieces that know nothing of backup jobs, tenants or HTTP.

- :mod:`.cache`: :class:`~.cache.BoundedCache`, the one bounded cache every cache of a
  process is made of (the read model's, ingestion's, the token verifier's).
- :mod:`.read_connections`: asyncpg connections answering many calls of a statement per
  round trip (the job pages' reads on PostgreSQL).
- :mod:`.redis_counters`: a pipelined Redis client for the rate limits' one script.

It imports nothing else of backupjobs; every other server package may import it.
"""
