"""Storage: schema, migrations and the queries every endpoint goes through."""
