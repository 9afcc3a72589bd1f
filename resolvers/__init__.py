"""Query and mutation logic, dataloaders and domain errors. Imports models and policies."""
