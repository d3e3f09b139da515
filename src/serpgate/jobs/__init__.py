"""Async searches and batches on saq, a Redis job queue: durable, fair between tenants."""
