"""Cluster sizing for a large ECG archive (default 800,000 ECGs, MIMIC-IV-ECG) from measured
throughput figures, never from typed-in numbers.

    python cluster/sizing.py                                    # Markdown table
    python cluster/sizing.py --assume-gpu-reports-per-s 0.8     # while no GPU figure exists
    python cluster/sizing.py record NAME --from OUT --key PATH --kind cpu|gpu --stages a,b \
        --source "the command that printed OUT"                 # copy one figure from a bench

Figures live in cluster/bench_figures.json; `record` writes them there from a bench's (or the
scoring job's) JSON output, stamped with the source, the date and the machine. Each figure is
a throughput for some stages of the per-ECG flow:
- CPU stages (read, prepare, measure, render, verify): ECGs/s on ONE core;
- GPU stage (generate): GEM reports/s on ONE GPU (batched).
The model: a CPU stage costs 1/rate core-seconds per ECG; one GPU turns out `g` reports/s, so
keeping it busy takes g x (core-seconds per ECG) cores for the CPU stages plus the cores the
inference actor itself holds; GPU-hours = N / g / 3600; wall time on n GPUs = N / (n g) (plus
start-up: node scale-up and model load, minutes, not in the table).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FIGURES = HERE / "bench_figures.json"
CPU_STAGES = ("read", "prepare", "measure", "render", "verify")
GPU_STAGES = ("generate",)


@dataclass
class Figure:
    name: str
    value: float | None          # ECGs/s per core (kind cpu) or reports/s per GPU (kind gpu)
    kind: str                    # "cpu" | "gpu"
    stages: list[str]
    source: str                  # the bench command that printed the value
    date: str | None
    machine: str = ""
    note: str = ""
    superseded_by: str = ""      # kept for the record, not counted: another figure covers it

    @property
    def unit(self) -> str:
        return "ECGs/s per core" if self.kind == "cpu" else "reports/s per GPU"


@dataclass
class Sizing:
    n_ecgs: int
    cpu_s_per_ecg: float                 # core-seconds of CPU stages per ECG (measured ones)
    cpu_stages_measured: list[str]
    cpu_stages_missing: list[str]
    gpu_reports_per_s: float | None      # per GPU
    gpu_is_assumption: bool
    actor_cpus: float                    # cores the inference actor holds beside its GPU
    prep_cores_per_gpu: float | None     # g x cpu_s_per_ecg
    cores_per_gpu: int | None            # ceil(prep + actor)
    gpu_hours: float | None
    cpu_core_hours: float
    rows: list[dict]                     # per GPU count: gpus, cores, ecgs_per_s, wall_h, bound


def load_figures(path: Path | str) -> list[Figure]:
    with open(path) as f:
        doc = json.load(f)
    figures = []
    for name, d in doc.get("figures", {}).items():
        missing = [k for k in ("value", "kind", "stages", "source", "date") if k not in d]
        if missing:
            raise ValueError(f"{path}: figure {name} lacks {', '.join(missing)}")
        if d["kind"] not in ("cpu", "gpu"):
            raise ValueError(f"{path}: figure {name}: kind must be cpu or gpu, not {d['kind']!r}")
        allowed = CPU_STAGES if d["kind"] == "cpu" else GPU_STAGES
        bad = [s for s in d["stages"] if s not in allowed]
        if bad:
            raise ValueError(f"{path}: figure {name}: {d['kind']} figure names stages {bad}; "
                             f"{d['kind']} stages are {', '.join(allowed)}")
        if d["value"] is not None and not d["value"] > 0:
            raise ValueError(f"{path}: figure {name}: value must be positive, got {d['value']}")
        figures.append(Figure(name=name, value=d["value"], kind=d["kind"], stages=list(d["stages"]),
                              source=d["source"], date=d["date"], machine=d.get("machine", ""),
                              note=d.get("note", ""), superseded_by=d.get("superseded_by", "")))
    return figures


def size(figures: list[Figure], n_ecgs: int = 800_000, gpu_counts=(1, 2, 4, 8, 16, 32, 64),
         assume_gpu_reports_per_s: float | None = None, actor_cpus: float = 2.0,
         cores_per_gpu_available: float | None = None) -> Sizing:
    """The sizing numbers from the figures (each stage measured at most once)."""
    covered: dict[str, str] = {}
    cpu_s = 0.0
    gpu_figs = []
    for fig in figures:
        if fig.value is None or fig.superseded_by:
            continue
        for s in fig.stages:
            if s in covered:
                raise ValueError(f"stage {s} is counted twice: by {covered[s]} and by {fig.name}")
            covered[s] = fig.name
        if fig.kind == "cpu":
            cpu_s += 1.0 / fig.value
        else:
            gpu_figs.append(fig)
    measured = [s for s in CPU_STAGES if s in covered]
    missing = [s for s in CPU_STAGES if s not in covered]

    g, assumed = (gpu_figs[0].value, False) if gpu_figs else (assume_gpu_reports_per_s, True)
    if g is None:
        assumed = False
    prep = g * cpu_s if g else None
    cores = math.ceil(prep + actor_cpus - 1e-9) if prep is not None else None
    rows = []
    if g:
        for n in gpu_counts:
            per_gpu, bound = g, "GPU"
            if cores_per_gpu_available is not None:
                spare = max(0.0, cores_per_gpu_available - actor_cpus)
                cpu_rate = spare / cpu_s if cpu_s > 0 else float("inf")
                if cpu_rate < g:
                    per_gpu, bound = cpu_rate, "CPU"
            rate = n * per_gpu
            rows.append({"gpus": n, "cores": (n * cores_per_gpu_available if cores_per_gpu_available
                                              is not None else n * cores),
                         "ecgs_per_s": rate, "wall_h": n_ecgs / rate / 3600 if rate > 0 else math.inf,
                         "bound": bound})
    return Sizing(n_ecgs=n_ecgs, cpu_s_per_ecg=cpu_s, cpu_stages_measured=measured,
                  cpu_stages_missing=missing, gpu_reports_per_s=g, gpu_is_assumption=assumed,
                  actor_cpus=actor_cpus, prep_cores_per_gpu=prep, cores_per_gpu=cores,
                  gpu_hours=n_ecgs / g / 3600 if g else None,
                  cpu_core_hours=n_ecgs * cpu_s / 3600, rows=rows)


def _duration(hours: float) -> str:
    if math.isinf(hours):
        return "never"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d ({hours:.0f} h)"


def markdown(figures: list[Figure], s: Sizing, figures_path: str, assumption_flag: str) -> str:
    out = [f"## Sizing for {s.n_ecgs:,} ECGs", "",
           f"Figures from `{figures_path}` (each written by `cluster/sizing.py record` from the "
           "named bench output):", "",
           "| figure | value | stages | source | date | machine |", "|---|---:|---|---|---|---|"]
    for f in figures:
        value = f"{f.value:.4g} {f.unit}" if f.value is not None else f"none ({f.note or 'not measured'})"
        if f.superseded_by:
            value += f" (not counted: superseded by {f.superseded_by})"
        out.append(f"| {f.name} | {value} | {', '.join(f.stages)} | {f.source} | {f.date or '-'} | "
                   f"{f.machine or '-'} |")
    if s.gpu_is_assumption:
        out.append(f"| **ASSUMPTION** | {s.gpu_reports_per_s:.4g} reports/s per GPU | generate | "
                   f"`{assumption_flag} {s.gpu_reports_per_s:g}` on the command line: no GPU figure "
                   f"measured | - | - |")
    out.append("")
    stages = "+".join(s.cpu_stages_measured) or "none"
    out.append(f"CPU work per ECG: {s.cpu_s_per_ecg:.4g} core-s ({stages}) = "
               f"{s.cpu_core_hours:,.0f} core-hours for {s.n_ecgs:,} ECGs.")
    if s.cpu_stages_missing:
        out.append(f"Not measured, so not counted (the CPU figures are a lower bound): "
                   f"{', '.join(s.cpu_stages_missing)}.")
    if s.gpu_reports_per_s is None:
        out += ["", f"**No GPU throughput**: no `generate` figure in `{figures_path}` and no "
                f"`{assumption_flag}` given, so no GPU-hours or wall time. Run "
                "`bench/generate.py --device cuda --gem7b-shapes --json` on a GPU and record it."]
        return "\n".join(out) + "\n"
    label = " (ASSUMPTION)" if s.gpu_is_assumption else ""
    out += [
        f"GPU work: {s.n_ecgs:,} / {s.gpu_reports_per_s:.4g} reports/s{label} = "
        f"**{s.gpu_hours:,.1f} GPU-hours**.",
        f"Cores to keep one GPU busy: {s.gpu_reports_per_s:.4g} x {s.cpu_s_per_ecg:.4g} = "
        f"{s.prep_cores_per_gpu:.3g} for the CPU stages + {s.actor_cpus:g} held by the inference "
        f"actor = **{s.cores_per_gpu} cores per GPU** (rounded up).", "",
        "| GPUs | CPU cores | ECGs/s | wall time | bound by |", "|---:|---:|---:|---:|---|"]
    for r in s.rows:
        out.append(f"| {r['gpus']} | {r['cores']:g} | {r['ecgs_per_s']:.3g} | {_duration(r['wall_h'])} | "
                   f"{r['bound']}{label if r['bound'] == 'GPU' else ''} |")
    out += ["", "Wall time excludes start-up (node scale-up, image pull, model load: minutes)."]
    return "\n".join(out) + "\n"


# -- record: copy one figure from a bench's JSON output into the figures file -------------------

def last_json_object(text: str) -> dict:
    """The last line of `text` that is a JSON object (benches print a table, then one JSON line)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            return doc
    except json.JSONDecodeError:
        pass
    raise ValueError("no JSON object found in the bench output")


def pick(doc, path: str, reduce: str = "max") -> float:
    """Value at a dotted path; `*` maps over a list, and the list is reduced (max/min/mean):
    e.g. `rows.*.reports_per_s` is the best batch size of bench/generate.py."""
    values = [doc]
    for part in path.split("."):
        nxt = []
        for v in values:
            if part == "*":
                if not isinstance(v, list):
                    raise ValueError(f"{path}: `*` needs a list, found {type(v).__name__}")
                nxt.extend(v)
            elif isinstance(v, list):
                nxt.append(v[int(part)])
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
            else:
                raise ValueError(f"{path}: no {part!r} in the bench output")
        values = nxt
    nums = [float(v) for v in values if v is not None]
    if not nums:
        raise ValueError(f"{path}: no number in the bench output")
    if reduce == "max":
        return max(nums)
    if reduce == "min":
        return min(nums)
    return sum(nums) / len(nums)


def pick_text(text: str, pattern: str) -> float:
    """For a bench that prints no JSON: the first group of the last match of `pattern`."""
    import re

    matches = re.findall(pattern, text, flags=re.MULTILINE)
    if not matches:
        raise ValueError(f"pattern {pattern!r} matches nothing in the bench output")
    last = matches[-1]
    return float(last[0] if isinstance(last, tuple) else last)


def rate_from_reports(output_uri: str, column: str) -> tuple[float, int]:
    """(1 / median seconds, rows) of a stage-time column (`t_prepare_s`, `t_verify_s`,
    `t_infer_s`) over the `ok` rows a scoring run committed under `output_uri`. The median,
    because a worker's first row also pays its imports (seconds), which a mean over a short run
    would spread over every row; `t_infer_s` is the row's share of its batch's time, so on an
    actor holding one GPU its inverse is reports/s per GPU."""
    import statistics

    from gem_core.report_store import ReportStore

    table = ReportStore(output_uri).read(columns=["status", column])
    if table is None:
        raise ValueError(f"{output_uri}: no committed scoring run")
    secs = [t for t, st in zip(table.column(column).to_pylist(), table.column("status").to_pylist())
            if st == "ok" and t]
    if not secs:
        raise ValueError(f"{output_uri}: no ok row with a {column}")
    return 1.0 / statistics.median(secs), len(secs)


def this_machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"


def record(figures_path: Path, name: str, bench_output: str | None, key: str | None, kind: str,
           stages: list[str], source: str, reduce: str = "max", scale: float = 1.0,
           machine: str | None = None, note: str = "", regex: str | None = None,
           reports: str | None = None, column: str | None = None, supersedes=()) -> dict:
    """Add or replace one figure, its value read from `bench_output` at the JSON `key` (or by
    `regex` from a bench that prints text), or from the rows of a scoring run (`reports`,
    `column`), times `scale` (e.g. a rate measured on a task that held 4 cores: 0.25).
    `supersedes`: figures this one replaces for the table (kept in the file, marked)."""
    if reports is not None:
        value, n = rate_from_reports(reports, column)
        value *= scale
        where = f"1 / median {column} over {n} ok rows"
    elif (key is None) == (regex is None):
        raise ValueError("give exactly one of key or regex")
    elif key is not None:
        value = pick(last_json_object(bench_output), key, reduce) * scale
        where = f"json {key}{'' if reduce == 'max' else ' ' + reduce}"
    else:
        value = pick_text(bench_output, regex) * scale
        where = f"regex {regex}"
    doc = {"figures": {}}
    if figures_path.exists():
        with open(figures_path) as f:
            doc = json.load(f)
    entry = {"value": round(value, 6), "kind": kind, "stages": stages, "source": source,
             "read": f"{where}{'' if scale == 1 else f' x {scale:g}'}",
             "date": dt.date.today().isoformat(), "machine": machine or this_machine()}
    if note:
        entry["note"] = note
    doc.setdefault("figures", {})[name] = entry
    for old in supersedes:
        if old not in doc["figures"]:
            raise ValueError(f"{figures_path}: no figure {old} to supersede")
        doc["figures"][old]["superseded_by"] = name
    tmp = figures_path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, figures_path)
    load_figures(figures_path)  # refuse to leave a file the table cannot read
    return entry


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["record"]:
        p = argparse.ArgumentParser(prog="sizing.py record", description=record.__doc__)
        p.add_argument("name")
        p.add_argument("--from", dest="src", metavar="FILE",
                       help="the bench's output (its last JSON line is read); - for stdin")
        how = p.add_mutually_exclusive_group(required=True)
        how.add_argument("--key", help="dotted path to the number in the JSON line; * maps over lists")
        how.add_argument("--regex", help="for text output: first group of the last match")
        how.add_argument("--from-reports", metavar="OUTPUT_URI",
                         help="a scoring run's output: 1 / median of --column over its ok rows")
        p.add_argument("--column", choices=["t_prepare_s", "t_verify_s", "t_infer_s"],
                       help="with --from-reports: the stage-time column")
        p.add_argument("--kind", required=True, choices=["cpu", "gpu"])
        p.add_argument("--stages", required=True, help=f"comma list of {', '.join(CPU_STAGES + GPU_STAGES)}")
        p.add_argument("--source", required=True, help="the command that produced the output")
        p.add_argument("--reduce", default="max", choices=["max", "min", "mean"])
        p.add_argument("--scale", type=float, default=1.0)
        p.add_argument("--machine", default=None)
        p.add_argument("--note", default="")
        p.add_argument("--supersedes", default="", metavar="NAMES",
                       help="comma list of figures this one replaces (kept, marked, not counted)")
        p.add_argument("--figures", type=Path, default=DEFAULT_FIGURES)
        a = p.parse_args(argv[1:])
        if a.from_reports is not None and a.column is None:
            p.error("--from-reports needs --column")
        if a.from_reports is None and a.src is None:
            p.error("--key and --regex read the bench output given by --from")
        text = None if a.src is None else sys.stdin.read() if a.src == "-" else Path(a.src).read_text()
        entry = record(a.figures, a.name, text, a.key, a.kind, a.stages.split(","), a.source,
                       a.reduce, a.scale, a.machine, a.note, a.regex, a.from_reports, a.column,
                       [x for x in a.supersedes.split(",") if x])
        print(json.dumps({a.name: entry}, indent=2))
        return 0

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--figures", default=str(DEFAULT_FIGURES), help="figures JSON (default %(default)s)")
    p.add_argument("--ecgs", type=int, default=800_000, help="archive size (default 800,000)")
    p.add_argument("--gpus", default="1,2,4,8,16,32,64", help="GPU counts for the table")
    p.add_argument("--assume-gpu-reports-per-s", type=float, default=None, metavar="G",
                   help="GEM reports/s per GPU to use when no GPU figure was measured (labelled "
                        "ASSUMPTION in the table; ignored when a figure exists)")
    p.add_argument("--actor-cpus", type=float, default=2.0,
                   help="cores per inference actor (score --cpus-per-worker; default 2)")
    p.add_argument("--cores-per-gpu", type=float, default=None, metavar="C",
                   help="fixed node shape: cores available per GPU (e.g. g5.12xlarge: 12); "
                        "the table then says whether CPU or GPU bounds the rate")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON instead")
    a = p.parse_args(argv)
    figures = load_figures(a.figures)
    s = size(figures, a.ecgs, [int(x) for x in a.gpus.split(",")], a.assume_gpu_reports_per_s,
             a.actor_cpus, a.cores_per_gpu)
    if a.json:
        print(json.dumps(s.__dict__, indent=1))
    else:
        shown = os.path.relpath(a.figures) if os.path.isabs(a.figures) else a.figures
        print(markdown(figures, s, shown, "--assume-gpu-reports-per-s"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
