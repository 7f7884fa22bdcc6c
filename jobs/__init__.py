"""Durable background jobs on PostgreSQL (Procrastinate underneath): a job row per computation, a worker
command, cooperative cancel, retries of transient failures, orphan clean-up. See README «Trabajos»."""
