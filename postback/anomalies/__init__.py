"""Anomaly detection: scans that find what looks wrong in a partner's traffic, and alerts."""
