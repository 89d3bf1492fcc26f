"""Supplier endpoints of the JSON API that belong to the supplier's account: `supplier` (its
shipping rates and handling time)."""
