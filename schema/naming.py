"""The graph's spelling of names stored in snake_case (``models.graph_names``)."""

from __future__ import annotations

from models.graph_names import camel

__all__ = ["camel"]
