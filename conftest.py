"""The test fixtures (tests/fixtures.py: a real PostgreSQL, the app with its lifespan, empty
tables before each test) for both test trees, tests/ and bench/tests/: registered once here,
so the session's database server and app are started once for both."""

pytest_plugins = ["tests.fixtures"]
