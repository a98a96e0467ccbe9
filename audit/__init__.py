"""Append-only, hash-chained audit trail of everything that matters about keys and incidents."""
