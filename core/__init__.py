"""The floor every other package stands on: settings, the database configuration and
migrations, request context, domain errors, telemetry, security (tokens and password
hashes), the PostgreSQL listener and live task events.

It imports no other package of ours but ``models`` (the database configuration names the
model modules), so anything above may use it.
"""
