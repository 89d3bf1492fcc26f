"""The webhook inbox's `{topic: handler}` dispatch table; the apps register their handlers."""
