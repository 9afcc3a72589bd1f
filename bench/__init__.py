"""Benchmark tooling: a seeded, bulk-loaded dataset at county scale and the runs against it."""
