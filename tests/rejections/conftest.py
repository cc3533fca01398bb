"""The admin sign-in helpers (tests/admin/conftest.py) for the rejections page's tests."""

from tests.admin.conftest import admin, fresh_throttle

__all__ = ["admin", "fresh_throttle"]
