"""Privacy self-service: data exports, account and organisation erasure, shopper requests
executed by support (docs/privacy.md)."""
