"""Head office: the chain's server above its store servers (docs/headoffice.md)."""
