"""SQL storage: the schema, the database handle and the queries of each aggregate."""
