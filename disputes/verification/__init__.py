"""Verification against the records: the diagnosis of a case (a pure reading of
the ledger and settlement records) and the service that keeps it on the case."""
