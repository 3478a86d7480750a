"""Storage: schema, migrations, and the statements every endpoint goes through.

What is here, by module: :mod:`.database` (the engine and its transactions), :mod:`.schema`
and :mod:`.migrations`, :mod:`.scope` (the tenant scope, the one place that decides who
sees what), :mod:`.directory` (partners, customers, services enabled), :mod:`.ingestion`
(job records in), :mod:`.services` (a customer's services as the job pages read them),
:mod:`.retention`, and the helpers :mod:`.bulk`, :mod:`.paging`, :mod:`.reads`. It keeps
nothing of what it reads: that is the read model's (:mod:`backupjobs.readmodel`).

The transaction rule, for this package and :mod:`backupjobs.auth`:

- A function that runs in its caller's transaction takes an ``AsyncConnection`` (its
  first parameter) and never begins or commits:
  ``await directory.create_customer(connection, partner_id, name, now=now)``.
- A function that owns its transactions (begins, commits and, if need be, runs them
  again: an ingestion batch, a retention round, a key rotation, a command of the
  operator CLI) takes a ``Database``, or is a method of an object that holds one
  (``Ingestor``, ``KeyRing``), and opens them with ``db.write()`` or
  ``db.transaction(work)`` (writes) or ``db.read()`` (reads). The job pages' reads, which
  run outside any transaction through ``db.fetch(query, params)``, take a ``Database``
  too.
- No function takes both.
"""
