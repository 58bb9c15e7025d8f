"""The parser against the hand-written corpus (issue 6, must show: claim-level precision and
recall >= 0.95 over >= 40 realistic paragraphs). Run with -s to see the table."""
from __future__ import annotations

import re
from collections import Counter

from grounding_corpus import CORPUS, HELDOUT, expected_key

from gem_core.grounding.claims import parse_claims


def _score(item: dict) -> tuple[int, int, int, Counter, Counter]:
    got = Counter(c.key() for c in parse_claims(item["text"]))
    exp = Counter(expected_key(s) for s in item["claims"])
    tp = sum((got & exp).values())
    return tp, sum(got.values()) - tp, sum(exp.values()) - tp, got - exp, exp - got


def test_corpus_is_big_and_varied():
    items = CORPUS + HELDOUT
    assert len(items) >= 40
    assert len({c["id"] for c in items}) == len(items)
    text = " ".join(c["text"] for c in items)
    # the categories, units and lead notations all occur
    for needle in ("normal ECG", "atrial fibrillation", "AV block", "bundle branch block", "infarction",
                   "left ventricular hypertrophy", "bradycardia", "tachycardia", r"\d\.\d+ s\b", r"\d-ms", " mV",
                   r"\d mm", "V1-V3", "V1 to V3", "II, III and aVF", "inferior leads", "RV5", r"\d uV", "°"):
        assert re.search(needle, text), needle
    n_claims = sum(len(c["claims"]) for c in items)
    assert n_claims >= 300


def test_parser_recovers_corpus_claims():
    tp = fp = fn = 0
    rows = []
    for item in CORPUS + HELDOUT:
        t, f, n, extra, missing = _score(item)
        tp, fp, fn = tp + t, fp + f, fn + n
        rows.append((item["id"], len(item["claims"]), t, f, n, extra, missing))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\n{'paragraph':<22} {'expected':>8} {'found':>6} {'extra':>6} {'missed':>6}")
    for rid, n_exp, t, f, n, extra, missing in rows:
        print(f"{rid:<22} {n_exp:>8} {t:>6} {f:>6} {n:>6}")
        for k in extra:
            print(f"{'':<24}extra  {k}")
        for k in missing:
            print(f"{'':<24}missed {k}")
    print(f"{'TOTAL':<22} {tp + fn:>8} {tp:>6} {fp:>6} {fn:>6}")
    held = [r for r in rows if r[0] in {h["id"] for h in HELDOUT}]
    h_tp, h_fp, h_fn = (sum(r[k] for r in held) for k in (2, 3, 4))
    print(f"claim-level precision {precision:.3f}, recall {recall:.3f} over {len(rows)} paragraphs "
          f"({tp + fn} claims); held-out part ({len(held)} paragraphs): precision {h_tp / (h_tp + h_fp):.3f}, "
          f"recall {h_tp / (h_tp + h_fn):.3f}")
    assert precision >= 0.95 and recall >= 0.95
