"""cluster/sizing.py: the sizing table comes from recorded bench figures by arithmetic that can
be checked by hand; a missing GPU figure is said so and replaced only by a labelled assumption;
`record` copies a figure from a real bench's output with its source and date."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SIZING = REPO / "cluster" / "sizing.py"


def _load_sizing():
    spec = importlib.util.spec_from_file_location("cluster_sizing", SIZING)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses resolve their module by name
    spec.loader.exec_module(mod)
    return mod


sizing = _load_sizing()


def fig(name, value, kind, stages):
    return {name: {"value": value, "kind": kind, "stages": stages, "source": f"bench/{name}.py",
                   "date": "2026-12-01", "machine": "test"}}


@pytest.fixture
def figures_file(tmp_path):
    def write(*entries) -> Path:
        doc = {"figures": {}}
        for e in entries:
            doc["figures"].update(e)
        path = tmp_path / "figures.json"
        path.write_text(json.dumps(doc))
        return path
    return write


CPU_FIGS = [fig("prepare", 20.0, "cpu", ["read", "prepare"]),   # 0.050 core-s per ECG
            fig("measure", 10.0, "cpu", ["measure"]),            # 0.100
            fig("render", 40.0, "cpu", ["render"]),              # 0.025
            fig("verify", 100.0, "cpu", ["verify"])]             # 0.010 -> 0.185 core-s


def test_sizing_arithmetic(figures_file):
    figs = sizing.load_figures(figures_file(*CPU_FIGS, fig("generate", 2.0, "gpu", ["generate"])))
    s = sizing.size(figs, n_ecgs=800_000, gpu_counts=[1, 8], actor_cpus=2.0)
    assert s.cpu_s_per_ecg == pytest.approx(0.185)
    assert s.cpu_stages_missing == []
    assert s.cpu_core_hours == pytest.approx(800_000 * 0.185 / 3600)          # 41.1 core-hours
    assert not s.gpu_is_assumption and s.gpu_reports_per_s == 2.0
    assert s.prep_cores_per_gpu == pytest.approx(0.37)                       # 2/s x 0.185 core-s
    assert s.cores_per_gpu == 3                                              # ceil(0.37 + 2)
    assert s.gpu_hours == pytest.approx(800_000 / 2.0 / 3600)                # 111.1 GPU-hours
    one, eight = s.rows
    assert (one["gpus"], one["cores"], one["ecgs_per_s"]) == (1, 3, 2.0)
    assert (eight["gpus"], eight["cores"], eight["ecgs_per_s"]) == (8, 24, 16.0)
    assert eight["wall_h"] == pytest.approx(800_000 / 16.0 / 3600)           # 13.9 h
    assert one["wall_h"] == pytest.approx(8 * eight["wall_h"])
    md = sizing.markdown(figs, s, "figures.json", "--assume-gpu-reports-per-s")
    assert "ASSUMPTION" not in md
    assert "111.1 GPU-hours" in md and "3 cores per GPU" in md
    assert "| 8 | 24 | 16 | 13.9 h | GPU |" in md


def test_fixed_node_shape_can_make_cpu_the_bound(figures_file):
    figs = sizing.load_figures(figures_file(*CPU_FIGS, fig("generate", 2.0, "gpu", ["generate"])))
    # 2.2 cores per GPU, 2 held by the actor: 0.2 cores prepare 0.2 / 0.185 = 1.08 ECGs/s < 2.
    s = sizing.size(figs, gpu_counts=[4], cores_per_gpu_available=2.2)
    (row,) = s.rows
    assert row["bound"] == "CPU"
    assert row["ecgs_per_s"] == pytest.approx(4 * 0.2 / 0.185)
    assert row["cores"] == pytest.approx(8.8)
    roomy = sizing.size(figs, gpu_counts=[4], cores_per_gpu_available=12)
    assert roomy.rows[0]["bound"] == "GPU" and roomy.rows[0]["ecgs_per_s"] == 8.0


def test_no_gpu_figure_is_said_and_an_assumption_is_labelled(figures_file):
    path = figures_file(*CPU_FIGS, {"generate": {"value": None, "kind": "gpu", "stages": ["generate"],
                                                 "source": "bench/generate.py --device cuda", "date": None,
                                                 "note": "no GPU here"}})
    figs = sizing.load_figures(path)
    bare = sizing.size(figs)
    assert bare.gpu_reports_per_s is None and bare.rows == [] and bare.gpu_hours is None
    md = sizing.markdown(figs, bare, "f.json", "--assume-gpu-reports-per-s")
    assert "none (no GPU here)" in md and "No GPU throughput" in md

    s = sizing.size(figs, assume_gpu_reports_per_s=0.5, gpu_counts=[16])
    assert s.gpu_is_assumption and s.gpu_hours == pytest.approx(800_000 / 0.5 / 3600)
    md = sizing.markdown(figs, s, "f.json", "--assume-gpu-reports-per-s")
    assert "**ASSUMPTION**" in md and "`--assume-gpu-reports-per-s 0.5`" in md
    assert "GPU (ASSUMPTION)" in md.splitlines()[-3]   # the table row says so too

    # A measured figure wins over the assumption.
    measured = sizing.load_figures(figures_file(*CPU_FIGS, fig("generate", 3.0, "gpu", ["generate"])))
    s = sizing.size(measured, assume_gpu_reports_per_s=0.5)
    assert not s.gpu_is_assumption and s.gpu_reports_per_s == 3.0


def test_stage_counted_twice_or_unknown_is_refused_and_missing_stage_reported(figures_file):
    twice = sizing.load_figures(figures_file(*CPU_FIGS, fig("score_prepare", 5.0, "cpu", ["read", "render"])))
    with pytest.raises(ValueError, match="counted twice"):
        sizing.size(twice)
    with pytest.raises(ValueError, match="stages"):
        sizing.load_figures(figures_file(fig("x", 5.0, "cpu", ["generate"])))
    with pytest.raises(ValueError, match="lacks source"):
        sizing.load_figures(figures_file({"x": {"value": 1, "kind": "cpu", "stages": ["render"], "date": None}}))
    partial = sizing.size(sizing.load_figures(figures_file(CPU_FIGS[2])), assume_gpu_reports_per_s=1)
    assert partial.cpu_stages_missing == ["read", "prepare", "measure", "verify"]
    assert "Not measured, so not counted" in sizing.markdown(
        sizing.load_figures(figures_file(CPU_FIGS[2])), partial, "f", "--a")


def test_record_copies_a_figure_from_real_bench_output(tmp_path):
    """bench/generate.py (gem-tiny on CPU, tiny settings) -> record -> the table uses it."""
    out = subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--max-batch", "2",
                          "--new-tokens", "4", "--repeats", "1", "--json"],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    last = json.loads(out.stdout.strip().splitlines()[-1])
    best = max(r["reports_per_s"] for r in last["rows"])

    figures = tmp_path / "bench_figures.json"
    src = tmp_path / "generate.txt"
    src.write_text(out.stdout)
    cmd = [sys.executable, str(SIZING), "record", "generate_tiny_cpu", "--from", str(src),
           "--key", "rows.*.reports_per_s", "--kind", "gpu", "--stages", "generate",
           "--source", "bench/generate.py --max-batch 2 --new-tokens 4 --json", "--figures", str(figures)]
    rec = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert rec.returncode == 0, rec.stderr
    entry = json.loads(figures.read_text())["figures"]["generate_tiny_cpu"]
    assert entry["value"] == pytest.approx(best, rel=1e-6)
    assert entry["source"].startswith("bench/generate.py") and entry["read"] == "json rows.*.reports_per_s"
    assert entry["date"] and entry["machine"]

    table = subprocess.run([sys.executable, str(SIZING), "--figures", str(figures), "--gpus", "4",
                            "--assume-gpu-reports-per-s", "99"], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "ASSUMPTION" not in table.stdout                 # the recorded figure is used
    gpu_hours = 800_000 / entry["value"] / 3600
    assert f"{gpu_hours:,.1f} GPU-hours" in table.stdout


def test_pick_and_text_extraction():
    doc = {"rows": [{"r": 1.0}, {"r": 3.0}, {"r": 2.0}], "metrics": {"x": 0.5}}
    assert sizing.pick(doc, "rows.*.r") == 3.0
    assert sizing.pick(doc, "rows.*.r", "mean") == 2.0
    assert sizing.pick(doc, "rows.0.r") == 1.0
    assert sizing.pick(doc, "metrics.x") == 0.5
    with pytest.raises(ValueError, match="no 'y'"):
        sizing.pick(doc, "metrics.y")
    assert sizing.last_json_object("table\n| a |\n{\"a\": 1}\n") == {"a": 1}
    with pytest.raises(ValueError):
        sizing.last_json_object("no json here")
    text = "  model input, ours (fast route)        42.23 /s       23.7 ms\n"
    assert sizing.pick_text(text, r"model input, ours \(fast route\)\s+([0-9.]+) /s") == 42.23


def test_committed_figures_have_provenance_and_print_a_table():
    """cluster/bench_figures.json: every figure names its bench and date (or is an explicit
    not-measured placeholder), and the script prints the 800k table from it."""
    path = REPO / "cluster" / "bench_figures.json"
    figs = sizing.load_figures(path)
    assert figs
    for f in figs:
        assert f.source.startswith(("bench/", "gem-ecg ", "python -m jobs.")), f.name
        if f.value is None:
            assert f.note, f.name
        else:
            assert f.date and f.machine, f.name
    has_gpu = any(f.kind == "gpu" and f.value for f in figs)
    out = subprocess.run([sys.executable, str(SIZING), "--assume-gpu-reports-per-s", "1.0"],
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "Sizing for 800,000 ECGs" in out.stdout
    assert ("ASSUMPTION" in out.stdout) == (not has_gpu)
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 7 and not any("never" in r for r in rows)


def test_record_supersedes_keeps_the_old_figure_out_of_the_sums(tmp_path):
    """A figure covering several stages (the scoring job's own prepare stage) replaces a
    narrower bench figure for the table; the old one stays in the file, marked."""
    figures = tmp_path / "f.json"
    render_out = "  model input, ours (fast route)        40.00 /s       25.0 ms\n"
    sizing.record(figures, "render_bench", render_out, None, "cpu", ["render"], "bench/render.py",
                  regex=r"fast route\)\s+([0-9.]+) /s")
    job_out = '{"metrics": {"prepare_ecgs_per_s_per_worker": 5.0}}'
    with pytest.raises(ValueError, match="counted twice"):
        sizing.record(figures, "job_prepare", job_out, "metrics.prepare_ecgs_per_s_per_worker", "cpu",
                      ["read", "prepare", "measure", "render"], "gem-ecg score --json")
        sizing.size(sizing.load_figures(figures))
    sizing.record(figures, "job_prepare", job_out, "metrics.prepare_ecgs_per_s_per_worker", "cpu",
                  ["read", "prepare", "measure", "render"], "gem-ecg score --json",
                  supersedes=["render_bench"])
    figs = sizing.load_figures(figures)
    assert {f.name: f.superseded_by for f in figs} == {"render_bench": "job_prepare", "job_prepare": ""}
    s = sizing.size(figs, assume_gpu_reports_per_s=1.0)
    assert s.cpu_s_per_ecg == pytest.approx(1 / 5.0)          # render's 1/40 not added again
    assert "not counted: superseded by job_prepare" in sizing.markdown(figs, s, "f", "--a")
    with pytest.raises(ValueError, match="no figure nope"):
        sizing.record(figures, "x", job_out, "metrics.prepare_ecgs_per_s_per_worker", "cpu",
                      ["verify"], "gem-ecg score --json", supersedes=["nope"])
