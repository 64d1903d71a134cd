"""The domain rules, pure: run lifecycle, what to do with an SDK answer, retries and backoff."""
