"""Tortoise models, one module per aggregate. This package imports nothing else of ours."""

MODEL_MODULES = [
    "models.org",
    "models.people",
    "models.task",
    "models.record",
    "models.evidence",
    "models.indicator",
    "models.audit",
    "models.policy",
    "models.notification",
    "models.complaint",
]
