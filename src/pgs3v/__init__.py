"""pgs3v: query S3 Vectors from PostgreSQL with plain SQL."""

__version__ = "0.1.0"
