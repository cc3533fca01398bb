"""Hourly rollups of conversions: exact at every moment, cheap to read at any size."""
