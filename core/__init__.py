"""The floor every other package stands on: request context, domain errors, telemetry,
security (tokens and password hashes), the PostgreSQL listener and live task events.

It imports no other package of ours, so anything above may use it.
"""
