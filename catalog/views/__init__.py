"""Catalog pages. The supplier edits its catalog here (`supplier`); retailers browse it priced
in retailers/views/catalog.py."""
