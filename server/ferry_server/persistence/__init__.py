"""Task state in SQL: SQLAlchemy models, the repository, the engine and Alembic migrations."""
