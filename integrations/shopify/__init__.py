"""Shopify: GraphQL Admin API client, OAuth, webhook checks and payload mappers."""
