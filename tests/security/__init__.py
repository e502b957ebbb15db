"""Security tests of issue 11: fuzzing of every input surface, and the authorisation
matrix of every route (docs/security.md)."""
