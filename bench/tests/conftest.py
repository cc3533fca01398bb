"""The service's own test fixtures (a real PostgreSQL, the app with its lifespan, empty tables
before each test), shared with the benchmark harness's tests rather than written twice."""

from tests.conftest import (
    app,
    clean_tables,
    database_url,
    db,
    server_url,
    settings,
)

__all__ = ["app", "clean_tables", "database_url", "db", "server_url", "settings"]
