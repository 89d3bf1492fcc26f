"""Fake Shopify, WooCommerce and Stripe servers for development, the demo and tests (no Django inside).

Run one: ``python -m sandbox shopify --port 8101`` (or ``woocommerce --port 8102``).
In tests, use the fixtures in tests/integrations/conftest.py, which start them on port 0.
"""
