"""WooCommerce: REST API v3 client (OAuth 1.0a over HTTP, basic auth over HTTPS), webhook checks, mappers."""
