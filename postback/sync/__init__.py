"""Copies of the conversions outside the service: Parquet export and the warehouse sync."""
