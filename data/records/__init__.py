"""The clinic's records, one writer per kind of record (``docs/architecture.md``)."""
