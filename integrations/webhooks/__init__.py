"""The webhook inbox's dispatch table and the handlers this app owns (store lifecycle, privacy)."""
