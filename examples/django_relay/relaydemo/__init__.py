"""A small DRF service whose errors reach errata relay through the real Python Sentry SDK."""
