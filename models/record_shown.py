"""A record's details as the graph shows them: camelCase keys at every depth (the input's
names where they differ), ids of other objects as global IDs.

Records are never edited, so this is computed once, when a record is written, and kept
beside the stored details (``AccountabilityRecord.details_shown``): the compiled read path
sends it as stored, the resolvers compute it again, and the differential tests hold the two
equal.
"""

from __future__ import annotations

from typing import Any

from models.graph_names import camel, global_id

# Stored detail keys whose input name is not their camelCase spelling (the input's names
# win, so a record reads back as it was written), and the type of id each holds, if any.
CRITERION_NAMES: dict[str, str] = {"max": "maxScore", "evidence": "evidenceIds"}
DETAIL_REFERENCES: dict[str, str] = {"evidenceIds": "Record", "issuerUnitId": "OrgUnit"}
# A criterion's uploaded evidence, stored beside its records (``evidence``) and shown after
# them in its ``evidenceIds``, as evidence's global IDs.
EVIDENCE_FILES = "evidence_files"


def _shown(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_shown(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    shown: dict[str, Any] = {}
    for key, item in value.items():
        if key == EVIDENCE_FILES:
            continue  # shown in ``evidenceIds``, after the records, below
        name = names.get(key) or camel(key)
        graph_type = DETAIL_REFERENCES.get(name)
        if graph_type is not None:
            shown[name] = _global_ids(graph_type, item)
        else:
            shown[name] = _shown(item, CRITERION_NAMES if key == "criteria" else {})
    files = value.get(EVIDENCE_FILES)
    if isinstance(files, list) and files:
        shown["evidenceIds"] = [*shown.get("evidenceIds", []), *_global_ids("Evidence", files)]
    return shown


def _global_ids(graph_type: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_global_ids(graph_type, item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return global_id(graph_type, value)
    return value


def shown_details(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` in the input's terms, as ``Record.details`` answers."""
    shown: dict[str, Any] = _shown(details, {})
    return shown
