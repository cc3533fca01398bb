"""Saved questions (dashboard tiles) and the reports that send them on a schedule."""
