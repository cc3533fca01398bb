"""The reports tests send email through the alerting tests' real SMTP server."""

from tests.alerting.conftest import smtp_server

__all__ = ["smtp_server"]
