"""`gem-ecg demo`: the whole loop on one machine, embedded defaults, no GPU, no downloads.

    1. archive      the shared real records + synthetic 12-lead ECGs (exact truth), in data/
    2. knowledge    knowledge-guided grounding items for every record (the split is by patient)
    3. train        gem-tiny on Ray Train from a fresh initialisation, registered in the
                    embedded MLflow (sqlite) and made champion by the gate
    4. score        the archive with models:/gem-tiny@champion on Ray Data: Parquet reports,
                    review PNGs and an HTML review page
    5. retrain      one round on the verified reports; the gate's decision
    6. summary

Run again, it is incremental: the archive, the items and the champion are kept, nothing is
scored twice, and a retraining round runs only when new reports were verified.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

SHARED_RECORDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ecg"
REGISTRY_NAME = "gem-tiny"


@dataclass
class DemoConfig:
    data_dir: Path = Path("data")
    records: Path = SHARED_RECORDS
    n_synth: int = 200
    seed: int = 0
    steps: int = 300                 # first training (from scratch)
    retrain_steps: int = 60          # the retraining round
    batch_size: int = 8
    max_new_tokens: int = 200
    workers: int = 2
    address: str | None = None
    tracking_uri: str | None = None
    log: object = field(default=print, repr=False)


def build_archive(cfg: DemoConfig) -> Path:
    """data/archive: copies of the shared records and the synthetic cohort (kept if present)."""
    from gem_core.synth import write_cohort

    archive = cfg.data_dir / "archive"
    for folder in ("ptb", "ptbxl", "mitdb"):
        if (cfg.records / folder).is_dir() and not (archive / folder).exists():
            shutil.copytree(cfg.records / folder, archive / folder)
    if not (archive / "synth" / "manifest.csv").exists():
        write_cohort(archive / "synth", n=cfg.n_synth, seed=cfg.seed)
    return archive


def build_knowledge(cfg: DemoConfig, archive: Path) -> Path:
    from jobs.cli import main as cli

    items = cfg.data_dir / "knowledge" / "items.jsonl"
    if not items.exists():
        items.parent.mkdir(parents=True, exist_ok=True)
        rc = cli(["knowledge", "--input", str(archive), "--output", str(items), "--seed", str(cfg.seed)])
        if rc not in (0, 1) or not items.exists():
            raise RuntimeError(f"knowledge items were not written (exit {rc})")
    return items


def _retrain(cfg: DemoConfig, base: str, tracking: str, steps: int, knowledge: Path, reports: str | None):
    from gem_core.training.loop import TrainConfig
    from jobs.retrain import RetrainConfig, run_retrain

    rc = RetrainConfig(base=base, registry_name=REGISTRY_NAME, knowledge=str(knowledge), reports=reports,
                       address=cfg.address, workers=cfg.workers, cpus_per_worker=1.0 / cfg.workers,
                       storage=str((cfg.data_dir / "retrain").resolve()), tracking_uri=tracking,
                       data_dir=str(cfg.data_dir), eval_max_new_tokens=64, eval_batch_size=8,
                       train=TrainConfig(steps=steps, batch_size=cfg.batch_size, lr=1e-3 if reports is None else 3e-4,
                                         warmup_steps=10, checkpoint_every=max(25, steps // 4), seed=cfg.seed))
    return run_retrain(rc, log=cfg.log)


def _scores_summary(table) -> dict:
    import numpy as np

    rows = table.to_pylist() if table is not None else []
    ok = [r for r in rows if r["status"] == "ok"]
    counts = [json.loads(r["grounding"])["counts"] for r in ok if r["grounding"]]
    scores = [r["grounding_score"] for r in ok if r["grounding_score"] is not None]
    return {"rows": len(rows), "ok": len(ok), "errors": len(rows) - len(ok),
            "grounding_mean": float(np.mean(scores)) if scores else None,
            "claims_per_report": float(np.mean([c["claims"] for c in counts])) if counts else 0.0,
            "contradicted_claims": sum(c["contradicted"] for c in counts),
            "fully_supported": sum(1 for c in counts if c["claims"] > 0 and c["contradicted"] == 0)}


def run_demo(cfg: DemoConfig) -> dict:
    from gem_core.model.tiny import save_gem_tiny
    from gem_core.registry import champion_version, client_for
    from gem_core.report_store import ReportStore
    from gem_core.review_page import build_review_page
    from gem_core.tracking import tracking_uri
    from jobs.score import ScoreConfig, run_score

    log = cfg.log
    t0 = time.perf_counter()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    tracking = tracking_uri(cfg.tracking_uri, cfg.data_dir)
    out: dict = {"data_dir": str(cfg.data_dir.resolve()), "tracking_uri": tracking}

    log("[1/6] archive")
    archive = build_archive(cfg)
    log(f"      {sum(1 for _ in archive.rglob('*.hea'))} records in {archive}")
    log("[2/6] knowledge-guided grounding items")
    items = build_knowledge(cfg, archive)
    log(f"      {sum(1 for _ in items.open())} items in {items}")

    log("[3/6] train gem-tiny on Ray Train, register, gate")
    client = client_for(tracking)
    if champion_version(client, REGISTRY_NAME) is None:
        init = cfg.data_dir / "models" / "gem-tiny-init"
        if not (init / "config.json").exists():
            save_gem_tiny(init, seed=cfg.seed)
        first = _retrain(cfg, str(init.resolve()), tracking, cfg.steps, items, reports=None)
        out["initial_training"] = {k: first[k] for k in ("candidate_version", "promoted", "reason", "loss_first",
                                                          "loss_last", "wall_s")}
        log(f"      loss {first['loss_first']:.3f} -> {first['loss_last']:.3f}; {first['reason']}")
    else:
        log(f"      champion {REGISTRY_NAME} v{champion_version(client, REGISTRY_NAME)} kept (incremental)")
    champion = champion_version(client, REGISTRY_NAME)
    if champion is None:
        raise RuntimeError("the first training was not promoted: no champion to score with")

    log(f"[4/6] score the archive with models:/{REGISTRY_NAME}@champion (v{champion}) on Ray Data")
    scores_uri = str((cfg.data_dir / "scores").resolve())
    score = run_score(ScoreConfig(input=str(archive), output=scores_uri, model=f"models:/{REGISTRY_NAME}@champion",
                                  incremental=True, images=True, batch_size=cfg.batch_size,
                                  max_new_tokens=cfg.max_new_tokens, address=cfg.address,
                                  tracking_uri=tracking, data_dir=str(cfg.data_dir)), log=log)
    out["scoring"] = {"run_id": score["run_id"], **score["counts"],
                      "ecgs_per_s": score["metrics"]["ecgs_per_s"]}
    store = ReportStore(scores_uri)
    latest = store.read(latest=True)
    before = _scores_summary(latest)
    review = build_review_page(latest.to_pylist(), str(cfg.data_dir / "review.html"),
                               title=f"gem-ecg demo: {REGISTRY_NAME} v{champion}")
    out["review_page"] = str(Path(review).resolve())

    log("[5/6] one retraining round on the verified reports")
    if score["counts"]["ok_now"] > 0:
        second = _retrain(cfg, f"models:/{REGISTRY_NAME}@champion", tracking, cfg.retrain_steps, items,
                          reports=scores_uri)
        ev = second["gate"]
        out["retraining"] = {k: second[k] for k in ("candidate_version", "promoted", "reason", "counts")}
        out["retraining"]["gate"] = ev
    else:
        out["retraining"] = {"skipped": "no new verified reports since the last round"}
        log("      skipped: nothing new was scored")
    out["grounding_before"] = before
    out["wall_s"] = time.perf_counter() - t0
    return out


def print_summary(s: dict) -> None:
    sc, gb = s["scoring"], s["grounding_before"]
    print("\n== gem-ecg demo summary ==")
    print(f"archive           {gb['rows']} ECGs reported ({gb['ok']} ok, {gb['errors']} errors, one row each)")
    print(f"this run scored   {sc['scored_now']} ({sc['skipped_incremental']} skipped as already scored), "
          f"{sc['ecgs_per_s']:.2f} ECGs/s end to end")
    if "initial_training" in s:
        it = s["initial_training"]
        print(f"first training    loss {it['loss_first']:.3f} -> {it['loss_last']:.3f} in {it['wall_s']:.0f} s; "
              f"v{it['candidate_version']} {'champion' if it['promoted'] else 'not promoted'}")
    g = gb["grounding_mean"]
    print(f"grounding         mean verifier score {'n/a' if g is None else f'{g:.3f}'} over ok reports "
          f"(supported / claims; a report without checkable claims scores 0), "
          f"{gb['claims_per_report']:.1f} claims per report, {gb['contradicted_claims']} contradicted claims, "
          f"{gb['fully_supported']} reports with claims and no contradiction")
    rt = s["retraining"]
    if "skipped" in rt:
        print(f"retraining        {rt['skipped']}")
    else:
        gate = rt["gate"]
        cand, champ = gate.get("candidate_value"), gate.get("champion_value")
        print(f"retraining        v{rt['candidate_version']}: {'PROMOTED' if rt['promoted'] else 'not promoted'} "
              f"({rt['reason']})")
        if cand is not None and champ is not None:
            print(f"                  held-out {gate.get('metric')}: champion {champ:.4f}, candidate {cand:.4f}")
    print(f"reports (Parquet) {s['data_dir']}/scores/reports/")
    print(f"review page       {s['review_page']}")
    print(f"MLflow store      {s['tracking_uri']}")
    print(f"MLflow UI         .venv/bin/mlflow ui --backend-store-uri {s['tracking_uri']} --host 127.0.0.1")
    print(f"total             {s['wall_s'] / 60:.1f} min")
