"""Stripe: the API client (stripe-python pointed at settings.STRIPE_API_BASE) and its errors."""
