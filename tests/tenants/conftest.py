"""The tenants tests share the CLI runner of tests/test_cli.py."""

from tests.test_cli import cli

__all__ = ["cli"]
