"""The PostgreSQL work queue: items of a kind with a JSON payload, claimed by priority under leases.

Use it through its modules (``from inngest.queue import ops``). It knows nothing of Inngest.
"""
