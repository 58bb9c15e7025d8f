"""One HTML page for reviewing a scoring run: a card per ECG with the page image (fiducials
marked), the report with each claim marked supported / contradicted / unverifiable, the
global measurements and the findings. Self-contained apart from the PNGs it links.
"""
from __future__ import annotations

import html
import json
import os

_STATUS_RANK = {"supported": 1, "unverifiable": 2, "contradicted": 3}  # what wins on overlap

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f6f6f4;color:#222}
h1{font-size:1.4rem} .summary{margin-bottom:1rem}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem;margin:0 0 1.2rem 0}
.card h2{font-size:1.1rem;margin:0 0 .5rem 0} .card.error{border-color:#c33}
.card img{max-width:100%;border:1px solid #eee} .report{line-height:1.6;margin:.6rem 0}
.supported{background:#d6f5d6} .contradicted{background:#f8c9c9;text-decoration:underline wavy #c00}
.unverifiable{background:#eee} table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left} .err{color:#b00}
.legend span{padding:1px 6px;margin-right:6px} .meta{color:#666;font-size:.85rem}
"""


def marked_report(text: str, claims: list[dict]) -> str:
    """The report as HTML with each claim's span wrapped in its status class (on overlapping
    spans the worse status wins, so a contradiction is never hidden)."""
    rank = [0] * len(text)
    for c in claims:
        span = c.get("span")
        if not span:
            continue
        r = _STATUS_RANK.get(c.get("status"), 0)
        for i in range(max(0, span[0]), min(len(text), span[1])):
            rank[i] = max(rank[i], r)
    names = {v: k for k, v in _STATUS_RANK.items()}
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and rank[j] == rank[i]:
            j += 1
        piece = html.escape(text[i:j])
        out.append(f'<span class="{names[rank[i]]}">{piece}</span>' if rank[i] else piece)
        i = j
    return "".join(out)


def _image_src(uri: str, html_dir: str) -> str:
    if "://" in uri:
        return uri
    return os.path.relpath(uri, html_dir)


_GLOBAL = [("heart_rate_bpm", "HR", "bpm"), ("rr_ms", "RR", "ms"), ("pr_ms", "PR", "ms"),
           ("qrs_ms", "QRS", "ms"), ("qt_ms", "QT", "ms"), ("qtc_ms", "QTc", "ms"),
           ("p_axis_deg", "P axis", "deg"), ("qrs_axis_deg", "QRS axis", "deg"),
           ("t_axis_deg", "T axis", "deg")]


def card(row: dict, html_dir: str) -> str:
    rid = html.escape(row["record_id"])
    if row["status"] != "ok":
        return (f'<div class="card error" id="{rid}"><h2>{rid}</h2>'
                f'<p class="err">error: {html.escape(row["error"])}</p></div>')
    m = json.loads(row["measurements"]) if row.get("measurements") else {}
    verdict = json.loads(row["grounding"]) if row.get("grounding") else {"claims": [], "counts": {}}
    g = m.get("global", {})
    cells = "".join(f"<th>{label}</th>" for _, label, _ in _GLOBAL)
    values = "".join(
        f"<td>{'' if g.get(k) is None else f'{g[k]:.0f} {unit}'}</td>" for k, _, unit in _GLOBAL)
    findings = "".join(f"<li><b>{html.escape(f['label'])}</b>: {html.escape(f.get('evidence', ''))}</li>"
                       for f in m.get("findings", []))
    counts = verdict.get("counts", {})
    img = (f'<img src="{html.escape(_image_src(row["image_uri"], html_dir))}" alt="ECG {rid}">'
           if row.get("image_uri") else "")
    score = row.get("grounding_score")
    return (
        f'<div class="card" id="{rid}"><h2>{rid}</h2>{img}'
        f'<div class="report">{marked_report(row.get("report_text") or "", verdict.get("claims", []))}</div>'
        f'<p class="meta">grounding: {counts.get("claims", 0)} claims, {counts.get("supported", 0)} supported, '
        f'{counts.get("contradicted", 0)} contradicted, {counts.get("unverifiable", 0)} unverifiable; '
        f'score {"n/a" if score is None else f"{score:.2f}"} &middot; model {html.escape(row["model_name"])} '
        f'{html.escape(row["model_version"])} &middot; {int(row.get("n_tokens") or 0)} tokens</p>'
        f'<table><tr>{cells}</tr><tr>{values}</tr></table>'
        f'<ul>{findings or "<li>no finding</li>"}</ul></div>')


def build_review_page(rows: list[dict], out_path: str, title: str = "gem-ecg review") -> str:
    """Write the page for `rows` (output rows, as dicts) to a local path; returns the path."""
    html_dir = os.path.dirname(os.path.abspath(out_path))
    rows = sorted(rows, key=lambda r: r["record_id"])
    n_ok = sum(r["status"] == "ok" for r in rows)
    body = "\n".join(card(r, html_dir) for r in rows)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<p class="summary">{len(rows)} ECGs: {n_ok} reported, {len(rows) - n_ok} errors.</p>'
            '<p class="legend"><span class="supported">supported</span><span class="contradicted">'
            'contradicted</span><span class="unverifiable">unverifiable</span></p>'
            f"{body}</body></html>")
    os.makedirs(html_dir, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(page)
    return out_path
