"""Grounding: is every claim of a report backed by the measurements?

- `claims`: `parse_claims(text)`: numeric and categorical claims with their leads.
- `tolerances`: every tolerance and borderline band, in one place.
- `verify`: `verify_report(text, measurements, labels=None) -> Verdict` (supported /
  contradicted / unverifiable per claim with evidence; `.to_dict()` has claims, counts,
  score, contradictions).
- `knowledge`: `knowledge_paragraph(measurements, labels=, report=, seed=, record_id=)` and
  `knowledge_item(record_id, ecg_uri, measurements, ...)`: knowledge-guided GEM-style
  paragraphs and ECG-Grounding training items, each verified before it is kept.

The grounded-interpretation question is the model's own constant (gem_core.model.prompt),
re-exported as `GROUNDED_QUESTION`. Names are imported on first use: the verifier reads the
measurement stage's criteria, which imports scipy.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "parse_claims": "claims",
    "Claim": "claims",
    "verify_report": "verify",
    "Verdict": "verify",
    "knowledge_paragraph": "knowledge",
    "knowledge_item": "knowledge",
    "grounding_item": "knowledge",
    "clinician_labels": "knowledge",
}

__all__ = ["GROUNDED_QUESTION", *_EXPORTS]


def __getattr__(name: str):
    if name == "GROUNDED_QUESTION":
        from gem_core.model.prompt import GROUNDING_QUESTION

        return GROUNDING_QUESTION
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"gem_core.grounding.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'gem_core.grounding' has no attribute {name!r}")
