"""Moving a clinic's records in and out: one import pipeline (read -> table -> validate ->
store) for CSV assessments, CSV infusions and FHIR, readers and writers each in their own
module, and the fast bulk paths in :mod:`data.interchange.bulk` (docs/architecture.md)."""
