"""Webhooks: a finished async search's JSON pushed, signed, to the client's own URL."""
