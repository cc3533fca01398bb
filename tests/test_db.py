"""The database URL helpers: one URL from the settings, in the forms each driver reads."""

from __future__ import annotations

import pytest

from postback.db import asyncpg_url, sqlalchemy_url, with_database


@pytest.mark.parametrize(
    ("given", "plain", "dialect"),
    [
        (
            "postgres://app:p%40ss@db.internal:6432/postback?sslmode=require",
            "postgresql://app:p%40ss@db.internal:6432/postback?sslmode=require",
            "postgresql+asyncpg://app:p%40ss@db.internal:6432/postback?sslmode=require",
        ),
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
            "postgresql://postgres@127.0.0.1:5432/postgres",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        ),
    ],
)
def test_each_driver_gets_its_scheme_and_the_rest_unchanged(
    given: str, plain: str, dialect: str
) -> None:
    assert asyncpg_url(given) == plain
    assert sqlalchemy_url(given) == dialect


def test_a_cloud_sql_socket_survives_as_the_host_parameter() -> None:
    url = asyncpg_url("postgresql://app@/postback?host=/cloudsql/proj:asia-southeast1:main")
    # The socket path is percent-encoded in the query; both drivers decode it back.
    assert url == "postgresql://app@/postback?host=%2Fcloudsql%2Fproj%3Aasia-southeast1%3Amain"


def test_with_database_changes_only_the_database() -> None:
    assert (
        with_database("postgresql://app:secret@h:5432/postgres?sslmode=disable", "postback_test")
        == "postgresql://app:secret@h:5432/postback_test?sslmode=disable"
    )
