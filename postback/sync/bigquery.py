"""A BigQuery dataset: table `conversions` partitioned by conversion day and clustered by
partner and offer, merged on the row id, and views for Looker Studio.

Why load jobs and MERGE (google-cloud-bigquery) rather than streaming inserts or dlt: a load
job from a Parquet file costs nothing and keeps the exact types (NUMERIC, TIMESTAMP, DATE);
the batches of a run go to one local Parquet file (memory holds one batch), which is loaded
into a staging table that expires by itself a day later, then one MERGE on `id` replaces
the rows that came again and inserts the rest, atomically. A run copied twice is merged
twice into the same rows. dlt would do the same through a larger stack we would still have
to configure to partition, cluster and merge this way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from postback.sync.rows import ROW_SCHEMA
from postback.sync.schemas import DestinationError

TABLE = "conversions"
PARTITION_FIELD = "day"
CLUSTERING_FIELDS = ("partner", "offer_id")
STAGING_LIFETIME = timedelta(days=1)

_TYPES = {
    pa.int64(): "INT64",
    pa.date32(): "DATE",
    pa.string(): "STRING",
    pa.bool_(): "BOOL",
    pa.decimal128(20, 6): "NUMERIC",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
}


def schema() -> list[Any]:
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(
            field.name, _TYPES[field.type], mode="NULLABLE" if field.nullable else "REQUIRED"
        )
        for field in ROW_SCHEMA
    ]


def views(dataset: str) -> dict[str, str]:
    """Ready-made views for Looker Studio: per day, partner and offer; statuses per day."""
    table = f"`{dataset}.{TABLE}`"
    return {
        "daily_partner_offer": f"""
            SELECT day, partner, offer_id, ANY_VALUE(offer_name) AS offer_name,
                   COUNTIF(NOT is_duplicate) AS conversions,
                   COUNTIF(is_duplicate) AS duplicates,
                   SUM(IF(is_duplicate, NULL, usd_sale_amount)) AS sales_usd,
                   SUM(IF(is_duplicate, NULL, usd_payout)) AS payouts_usd,
                   SUM(IF(is_duplicate, NULL, myr_sale_amount)) AS sales_myr,
                   SUM(IF(is_duplicate, NULL, myr_payout)) AS payouts_myr
            FROM {table} GROUP BY day, partner, offer_id""",
        "status_breakdown": f"""
            SELECT day, partner, status, COUNT(*) AS conversions,
                   SUM(usd_sale_amount) AS sales_usd, SUM(usd_payout) AS payouts_usd
            FROM {table} WHERE NOT is_duplicate GROUP BY day, partner, status""",
    }


def merge_statement(target: str, staging: str) -> str:
    assignments = ", ".join(f"{name} = S.{name}" for name in ROW_SCHEMA.names if name != "id")
    return (
        f"MERGE `{target}` AS T USING `{staging}` AS S ON T.id = S.id "
        f"WHEN MATCHED THEN UPDATE SET {assignments} "
        "WHEN NOT MATCHED THEN INSERT ROW"
    )


class BigQuerySink:
    def __init__(
        self, project: str, dataset: str, name: str, client: Any = None, deadline: float = 60.0
    ) -> None:
        self.project = project
        # How long the first request keeps retrying a dataset that does not answer.
        self.deadline = deadline
        self.dataset = f"{project}.{dataset}"
        self.name = name
        self._client = client
        self._file: str | None = None
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0

    def open(self) -> None:
        with self._refusals():
            from google.cloud import bigquery

            if self._client is None:
                self._client = bigquery.Client(project=self.project)
            retry = bigquery.DEFAULT_RETRY.with_deadline(self.deadline)
            self._client.get_dataset(self.dataset, retry=retry, timeout=self.deadline)
            table = bigquery.Table(f"{self.dataset}.{TABLE}", schema=schema())
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=PARTITION_FIELD
            )
            table.clustering_fields = list(CLUSTERING_FIELDS)
            self._client.create_table(table, exists_ok=True)
            for view, query in views(self.dataset).items():
                self._client.query(
                    f"CREATE OR REPLACE VIEW `{self.dataset}.{view}` AS {query}"
                ).result()
        descriptor, self._file = tempfile.mkstemp(prefix="postback-sync-", suffix=".parquet")
        os.close(descriptor)
        self._writer = pq.ParquetWriter(self._file, ROW_SCHEMA)

    def write(self, batch: pa.RecordBatch) -> None:
        assert self._writer is not None, "open() first"
        self._writer.write_batch(batch)
        self._rows += batch.num_rows

    def commit(self) -> None:
        assert self._writer is not None, "open() first"
        assert self._file is not None, "open() first"
        self._writer.close()
        self._writer = None
        if self._rows == 0:
            return
        with self._refusals():
            from google.cloud import bigquery

            staging = bigquery.Table(
                f"{self.dataset}.{TABLE}_staging_{uuid.uuid4().hex}", schema=schema()
            )
            staging.expires = datetime.now(UTC) + STAGING_LIFETIME
            self._client.create_table(staging)
            try:
                config = bigquery.LoadJobConfig(
                    source_format=bigquery.SourceFormat.PARQUET,
                    write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                    schema=schema(),
                )
                with open(self._file, "rb") as source:
                    self._client.load_table_from_file(
                        source, staging.reference, job_config=config
                    ).result()
                target = f"{self.dataset}.{TABLE}"
                staged = f"{self.dataset}.{staging.table_id}"
                self._client.query(merge_statement(target, staged)).result()
            finally:
                with contextlib.suppress(Exception):
                    self._client.delete_table(staging.reference, not_found_ok=True)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._file)
            self._file = None

    @contextlib.contextmanager
    def _refusals(self) -> Any:
        """BigQuery's and Google auth's errors as a DestinationError naming the dataset."""
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth
        from requests import RequestException

        try:
            yield
        except auth.GoogleAuthError as exc:
            raise DestinationError(self.name, f"no usable Google credentials: {exc}") from exc
        except (api.Unauthorized, api.Forbidden) as exc:
            raise DestinationError(self.name, f"refused the credentials: {exc.message}") from exc
        except (api.RetryError, api.ServiceUnavailable) as exc:
            raise DestinationError(self.name, f"cannot be reached: {exc}") from exc
        except api.NotFound as exc:
            raise DestinationError(self.name, f"not found: {exc.message}") from exc
        except api.GoogleAPIError as exc:
            raise DestinationError(self.name, f"BigQuery failed: {exc}") from exc
        except RequestException as exc:
            raise DestinationError(self.name, f"cannot be reached: {exc}") from exc
