"""Clinic records: the data layer (SQLAlchemy), filled in by issue #3."""
