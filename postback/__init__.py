"""Postback: receive, keep and question affiliate conversion postbacks."""

__version__ = "0.1.0"
