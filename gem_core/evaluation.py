"""Evaluating a GEM model on labelled ECGs: finding-level metrics of its generated reports, the
grounding verifier's statistics, and (on reference reports) the held-out per-token loss.

Findings of a report are the positive diagnosis claims the grounding parser reads in it
(`parse_claims`: categorical, value True). Labels of a cohort are mapped to classes of a
scheme; predicted finding codes are mapped to the same classes:

    findings  our finding codes (synthetic truth.json, MEASUREMENTS_SCHEMA); lead groups dropped
    ptbxl     PTB-XL super-classes NORM, MI, STTC, CD, HYP
    code15    CODE-15 1dAVb, RBBB, LBBB, SB, ST, AF
    cpsc      CPSC-2018 NORM, AF, I-AVB, LBBB, RBBB, PAC, PVC, STD, STE

A class with no finding code (CPSC PAC, PVC: the parser and the measurement stage know no
premature beats) cannot be predicted and is left out, with a note. Per class: TP/FP/FN,
precision, recall, F1 (0 when undefined); macro averages over the classes that occur in the
labels; Hamming loss over records x classes.

ROC AUC needs a continuous score. A generated report gives hard yes/no findings, so no AUC is
computed for the model (ECG-Bench's script computes "AUC" from hard labels, which is only
balanced accuracy in disguise). AUC is computed where a real score exists: the measured value a
finding rests on (heart rate for brady/tachycardia, PR for first-degree AV block, QRS duration,
QTc, QRS axis); that is the measurement stage's discrimination, the evidence the verifier uses,
not the model's.
"""
from __future__ import annotations

import json
import statistics

# --- label schemes -------------------------------------------------------------------------------
STTC_CODES = {"ST_ELEVATION", "ST_DEPRESSION", "ST_CHANGES", "ST_T_CHANGES", "T_INVERSION", "T_FLAT",
              "ISCHAEMIA"}
CD_CODES = {"RBBB", "LBBB", "INCOMPLETE_RBBB", "INCOMPLETE_LBBB", "BUNDLE_BRANCH_BLOCK", "LAFB", "LPFB",
            "WIDE_QRS", "FIRST_DEGREE_AV_BLOCK", "HIGHER_DEGREE_AV_BLOCK", "AV_BLOCK"}
SCHEMES: dict[str, dict[str, set[str]]] = {
    "ptbxl": {"NORM": {"NORMAL_ECG"}, "MI": {"MYOCARDIAL_INFARCTION", "PATHOLOGICAL_Q"}, "STTC": STTC_CODES,
              "CD": CD_CODES, "HYP": {"LVH_VOLTAGE", "RVH", "ATRIAL_ENLARGEMENT"}},
    "code15": {"1dAVb": {"FIRST_DEGREE_AV_BLOCK"}, "RBBB": {"RBBB"}, "LBBB": {"LBBB"},
               "SB": {"SINUS_BRADYCARDIA"}, "ST": {"SINUS_TACHYCARDIA"}, "AF": {"AF"}},
    "cpsc": {"NORM": {"NORMAL_ECG"}, "AF": {"AF"}, "I-AVB": {"FIRST_DEGREE_AV_BLOCK"}, "LBBB": {"LBBB"},
             "RBBB": {"RBBB"}, "PAC": set(), "PVC": set(), "STD": {"ST_DEPRESSION"}, "STE": {"ST_ELEVATION"}},
}
# Spellings of class names found in the datasets' label files.
ALIASES = {"ptbxl": {}, "code15": {"1DAVB": "1dAVb"},
           "cpsc": {"NORMAL": "NORM", "IAVB": "I-AVB", "1AVB": "I-AVB"}}
# Finding code -> (global measurement, sign): a continuous score that ranks records for that code.
MEASURED_SCORES = {
    "SINUS_BRADYCARDIA": ("heart_rate_bpm", -1.0), "SINUS_TACHYCARDIA": ("heart_rate_bpm", 1.0),
    "FIRST_DEGREE_AV_BLOCK": ("pr_ms", 1.0), "WIDE_QRS": ("qrs_ms", 1.0), "LONG_QTC": ("qtc_ms", 1.0),
    "LEFT_AXIS_DEVIATION": ("qrs_axis_deg", -1.0), "RIGHT_AXIS_DEVIATION": ("qrs_axis_deg", 1.0),
}


def base_code(label: str) -> str:
    """'ST_ELEVATION:inferior' -> 'ST_ELEVATION' (finding-level metrics ignore lead groups)."""
    return str(label).split(":", 1)[0].strip()


def to_classes(labels, scheme: str = "findings") -> set[str]:
    """A record's labels (scheme class names or finding codes) as classes of the scheme."""
    out = set()
    for lab in labels or []:
        lab = base_code(lab)
        if scheme == "findings":
            out.add(lab)
            continue
        classes = SCHEMES[scheme]
        name = ALIASES[scheme].get(lab.upper(), lab)
        match = next((c for c in classes if c.upper() == name.upper()), None)
        if match:
            out.add(match)
        else:
            out.update(c for c, codes in classes.items() if lab in codes)
    return out


# Claims that describe rather than diagnose ("the rhythm is regular", "normal axis", "upsloping
# ST segments"): not findings.
DESCRIPTIVE = {"RHYTHM_REGULAR", "NORMAL_AXIS", "NORMAL_VOLTAGE", "ST_FORM_HORIZONTAL", "ST_FORM_UPSLOPING",
               "ST_FORM_DOWNSLOPING"}


def predicted_codes(text: str) -> set[str]:
    """Finding codes a report asserts (positive diagnosis claims)."""
    from gem_core.grounding.claims import parse_claims

    return {c.name for c in parse_claims(text)
            if c.kind == "categorical" and c.value is True and c.name not in DESCRIPTIVE}


# --- metrics -------------------------------------------------------------------------------------
def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def finding_metrics(truth: dict[str, set[str]], predicted: dict[str, set[str]], classes=None) -> dict:
    """Per-class and macro precision / recall / F1 over the records in `truth`.

    truth / predicted: record id -> set of classes. classes: the classes to score (default:
    every class in truth or predictions); macro averages use those with support > 0."""
    ids = sorted(truth)
    classes = sorted(classes if classes is not None else set().union(*truth.values(), *(predicted.get(i, set()) for i in ids)))
    per_class = {}
    wrong = 0
    for c in classes:
        tp = sum(c in truth[i] and c in predicted.get(i, set()) for i in ids)
        fp = sum(c not in truth[i] and c in predicted.get(i, set()) for i in ids)
        fn = sum(c in truth[i] and c not in predicted.get(i, set()) for i in ids)
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_class[c] = {"support": tp + fn, "predicted": tp + fp, "tp": tp, "fp": fp, "fn": fn,
                        "precision": p, "recall": r, "f1": _ratio(2 * p * r, p + r)}
        wrong += fp + fn
    scored = [m for m in per_class.values() if m["support"] > 0]
    tp, fp, fn = (sum(m[k] for m in per_class.values()) for k in ("tp", "fp", "fn"))
    micro_p, micro_r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "n_records": len(ids), "classes": per_class,
        "macro_precision": statistics.fmean(m["precision"] for m in scored) if scored else 0.0,
        "macro_recall": statistics.fmean(m["recall"] for m in scored) if scored else 0.0,
        "macro_f1": statistics.fmean(m["f1"] for m in scored) if scored else 0.0,
        "micro_f1": _ratio(2 * micro_p * micro_r, micro_p + micro_r),
        "hamming_loss": _ratio(wrong, len(ids) * len(classes)),
    }


def roc_auc(positive: list[bool], scores: list[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); None without both
    classes."""
    n_pos = sum(positive)
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    u = sum(r for r, p in zip(ranks, positive) if p) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def measured_auc(truth: dict[str, set[str]], measurements: dict[str, dict], scheme: str = "findings") -> dict:
    """AUC of the measured value behind each class that rests on one measurement; records
    where it is unmeasurable are left out (and counted)."""
    out = {}
    classes = sorted(set().union(*truth.values())) if scheme == "findings" else sorted(SCHEMES[scheme])
    for c in classes:
        codes = {c} if scheme == "findings" else SCHEMES[scheme][c]
        if len(codes) != 1 or next(iter(codes)) not in MEASURED_SCORES:
            continue
        key, sign = MEASURED_SCORES[next(iter(codes))]
        pos, sc, missing = [], [], 0
        for rid, labels in truth.items():
            v = ((measurements.get(rid) or {}).get("global") or {}).get(key)
            if v is None:
                missing += 1
                continue
            pos.append(c in labels)
            sc.append(sign * float(v))
        auc = roc_auc(pos, sc)
        if auc is not None:
            out[c] = {"auc": auc, "score": f"{'-' if sign < 0 else ''}{key}", "n": len(sc), "unmeasured": missing}
    return out


def grounding_stats(texts: list[str], measurements: list[dict]) -> dict:
    """The verifier's view of generated reports: score distribution, supported / contradicted /
    unverifiable claims."""
    from gem_core.grounding import verify_report

    verdicts = [verify_report(t, m) for t, m in zip(texts, measurements)]
    counts = [v.counts for v in verdicts]
    n = len(verdicts)
    claims = sum(c["claims"] for c in counts)
    return {
        "reports": n,
        "score_mean": statistics.fmean(v.score for v in verdicts) if n else 0.0,
        "score_median": statistics.median(v.score for v in verdicts) if n else 0.0,
        "fully_supported": _ratio(sum(v.fully_supported for v in verdicts), n),
        "with_contradiction": _ratio(sum(bool(v.contradictions) for v in verdicts), n),
        "claims_per_report": _ratio(claims, n),
        "contradicted_per_report": _ratio(sum(c["contradicted"] for c in counts), n),
        "supported_fraction": _ratio(sum(c["supported"] for c in counts), claims),
        "unverifiable_fraction": _ratio(sum(c["unverifiable"] for c in counts), claims),
        "without_claims": _ratio(sum(c["claims"] == 0 for c in counts), n),
    }


# --- running a model -----------------------------------------------------------------------------
def reference_nll(model, tokenizer, examples: list, ecg, images, max_length: int | None = None,
                  batch_size: int = 8) -> float:
    """Per-token negative log-likelihood of the examples' reference answers (teacher forced,
    token-weighted over the whole set). ecg (N,12,5000), images (N,3,S,S) numpy or tensors."""
    import torch

    from gem_core.model.training_batch import build_training_batch

    ecg, images = torch.as_tensor(ecg), torch.as_tensor(images)
    total, tokens = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            part = examples[i:i + batch_size]
            batch = build_training_batch(tokenizer, [e.question for e in part], [e.answer for e in part],
                                         max_length=max_length)
            n = int((batch["labels"] != -100).sum())
            batch = {k: v.to(model.device) for k, v in batch.items()}
            loss = model(**batch, ecg=ecg[i:i + batch_size].to(model.device, model.dtype),
                         images=images[i:i + batch_size].to(model.device, model.dtype)).loss
            total += float(loss) * n
            tokens += n
    model.train(was_training)
    return total / tokens if tokens else float("nan")


def generate_reports(model, tokenizer, questions: list[str], ecg, images, max_new_tokens: int,
                     batch_size: int = 8) -> list[str]:
    import torch

    from gem_core.model.generate import GemGenerator

    gen = GemGenerator(model, tokenizer)
    ecg, images = torch.as_tensor(ecg), torch.as_tensor(images)
    out = []
    for i in range(0, len(questions), batch_size):
        out += [r.text for r in gen.generate(ecg=ecg[i:i + batch_size], images=images[i:i + batch_size],
                                             questions=questions[i:i + batch_size], max_new_tokens=max_new_tokens)]
    return out


def evaluate(model, tokenizer, loaded, labels: dict[str, list] | None = None, scheme: str = "findings",
             max_new_tokens: int = 256, batch_size: int = 8, with_reference: bool = False,
             max_length: int | None = None) -> dict:
    """Generate a report per example of `loaded` (data.LoadedExamples, measured), then score.

    labels: record id -> labels (classes of `scheme` or finding codes); with_reference: also the
    per-token loss of the examples' own answers, and finding metrics against the findings
    those reference answers state (when no labels are given)."""
    ex = loaded.examples
    was_training = model.training
    model.eval()
    texts = generate_reports(model, tokenizer, [e.question for e in ex], loaded.ecg, loaded.images,
                             max_new_tokens, batch_size)
    model.train(was_training)
    result: dict = {"n": len(ex), "max_new_tokens": max_new_tokens,
                    "grounding": grounding_stats(texts, loaded.measurements)}
    if with_reference:
        result["reference_nll"] = reference_nll(model, tokenizer, ex, loaded.ecg, loaded.images, max_length, batch_size)
    truth_source = None
    if labels is not None:
        truth = {e.record_id: to_classes(labels.get(e.record_id, []), scheme) for e in ex if e.record_id in labels}
        truth_source = "labels"
    elif with_reference:
        truth = {e.record_id: to_classes(predicted_codes(e.answer), scheme) for e in ex}
        truth_source = "reference reports"
    if truth_source:
        pred = {e.record_id: to_classes(predicted_codes(t), scheme) for e, t in zip(ex, texts)}
        classes = (set().union(*truth.values()) if scheme == "findings"
                   else {c for c, codes in SCHEMES[scheme].items() if codes})
        result["findings"] = {"scheme": scheme, "truth": truth_source,
                              **finding_metrics(truth, pred, classes)}
        skipped = sorted(c for c, codes in SCHEMES.get(scheme, {}).items() if not codes)
        if skipped:
            result["findings"]["not_evaluable"] = {c: "no finding code for this class" for c in skipped}
        by_id = {e.record_id: m for e, m in zip(ex, loaded.measurements)}
        result["measured_auc"] = measured_auc(truth, by_id, scheme)
    result["model_auc"] = "not computed: generated reports give hard findings, no score"
    result["reports"] = [{"record_id": e.record_id, "report": t} for e, t in zip(ex, texts)]
    return result


def format_table(result: dict) -> str:
    """The metrics as a plain-text table (what `gem-ecg eval` prints)."""
    lines = []
    f = result.get("findings")
    if f:
        lines.append(f"findings ({f['scheme']}, truth from {f['truth']}), {f['n_records']} records")
        lines.append(f"{'class':<24}{'support':>8}{'pred':>6}{'prec':>8}{'recall':>8}{'F1':>8}{'AUC*':>8}")
        auc = result.get("measured_auc", {})
        for c, m in f["classes"].items():
            a = f"{auc[c]['auc']:.3f}" if c in auc else "-"
            lines.append(f"{c:<24}{m['support']:>8}{m['predicted']:>6}{m['precision']:>8.3f}"
                         f"{m['recall']:>8.3f}{m['f1']:>8.3f}{a:>8}")
        lines.append(f"{'macro':<24}{'':>14}{f['macro_precision']:>8.3f}{f['macro_recall']:>8.3f}"
                     f"{f['macro_f1']:>8.3f}")
        lines.append(f"micro F1 {f['micro_f1']:.3f}   Hamming loss {f['hamming_loss']:.3f}")
        for c, why in (f.get("not_evaluable") or {}).items():
            lines.append(f"{c}: not evaluable ({why})")
        lines.append("* AUC of the measured value the finding rests on (measurement stage, not the model); "
                     "the model's reports give hard findings, so no model AUC")
    g = result["grounding"]
    lines.append(f"grounding of {g['reports']} generated reports (max {result['max_new_tokens']} new tokens): "
                 f"score mean {g['score_mean']:.3f}, median {g['score_median']:.3f}; "
                 f"fully supported {g['fully_supported']:.1%}; with a contradiction {g['with_contradiction']:.1%}; "
                 f"claims/report {g['claims_per_report']:.1f}, contradicted/report {g['contradicted_per_report']:.2f}, "
                 f"unverifiable {g['unverifiable_fraction']:.1%}")
    if "reference_nll" in result:
        lines.append(f"reference reports: per-token loss {result['reference_nll']:.4f}")
    return "\n".join(lines)


def summary_metrics(result: dict) -> dict[str, float]:
    """Flat numeric metrics of an evaluation (for MLflow metrics and registry tags)."""
    out = {f"grounding_{k}": float(v) for k, v in result["grounding"].items() if k != "reports"}
    if "reference_nll" in result:
        out["reference_nll"] = float(result["reference_nll"])
    if "findings" in result:
        for k in ("macro_f1", "macro_precision", "macro_recall", "micro_f1", "hamming_loss"):
            out[f"findings_{k}"] = float(result["findings"][k])
    out["n"] = float(result["n"])
    return out


def dumps(result: dict) -> str:
    return json.dumps(result, indent=1, default=str)
