"""Keep S3 Vectors indexes equal to PostgreSQL tables (docs/sync.md).

The capture (triggers writing an outbox), the claim and the decision what to send live in SQL
(schema 0.2.0), shared by both drains: ``s3vectors.sync_run`` inside the database, and this
package's ``pgs3v sync``, which sends the writes to the store directly. Backfill and reconcile
queue keys into the same outbox, so every write to an index goes through the one drain path
and its ordering rule.
"""
