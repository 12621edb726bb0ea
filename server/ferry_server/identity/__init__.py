"""Authentication: service tokens and certificate identities from the principals file, JWTs
against a JWKS, and task-scoped upload tokens, each turned into a domain ``Caller``."""
