"""The data's life after ingestion: retention cleanup."""
