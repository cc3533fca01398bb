"""Forecasts: the next days of each partner's conversions and payouts, with a band."""
