"""Grounding: is every claim of a report backed by the measurements?

- `claims`: parse a report paragraph into numeric and categorical claims with their leads.
- `tolerances`: every tolerance and borderline band, in one place.
- `verify`: `verify_report(text, measurements) -> Verdict` (supported / contradicted /
  unverifiable per claim, counts, score, contradictions).
- `knowledge`: knowledge-guided GEM-style paragraphs and ECG-Grounding training items from
  the measurements (and clinician labels), each verified before it is kept.

The grounded-interpretation question is the model's own constant (gem_core.model.prompt),
re-exported here as `GROUNDED_QUESTION`.
"""
from gem_core.model.prompt import GROUNDING_QUESTION as GROUNDED_QUESTION

__all__ = ["GROUNDED_QUESTION"]
