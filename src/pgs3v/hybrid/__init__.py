"""Hybrid queries: vector search in the store combined with relational predicates in PostgreSQL."""
