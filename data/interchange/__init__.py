"""Moving a clinic's records in and out: file formats, exports (and, as issue #10 goes on, the
one import pipeline with its readers and writers, now still in ``data/csv_io.py``)."""
