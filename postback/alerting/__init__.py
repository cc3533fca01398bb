"""Alert channels: where the anomaly alerts are sent, and their durable delivery."""
