"""Catalog API. Suppliers push inventory and read their products (`supplier`); the public,
priced catalog API for retailers is retailers/api/catalog.py."""
