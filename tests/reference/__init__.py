"""Reference material the tests check against: published FHIR examples and readable
reference implementations of rules the production code computes a faster way."""
