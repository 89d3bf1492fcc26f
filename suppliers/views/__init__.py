"""Supplier pages by audience: `supplier` (its own dashboard, onboarding, inventory feed) and
`public` (the directory and profiles anyone may open)."""
