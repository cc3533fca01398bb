"""The dashboard at /dashboard: KPIs, charts, tables and a live feed (admin or one partner)."""
