"""Operator commands, a module per group: they work on the database that
``BACKUPJOBS_DATABASE_URL`` names (SPEC section 11), each group a typer app ``group``.

- :mod:`.db`: the schema; :mod:`.partners`, :mod:`.customers`, :mod:`.services`: the
  directory; :mod:`.apps`: app registrations and their credentials; :mod:`.keys`: the
  keys that sign access tokens.
"""
