"""`gem-ecg knowledge`: a local directory, a manifest with clinician labels, S3 output, bad
records reported and skipped with a count."""
from __future__ import annotations

import json

from jobs.cli import main

from gem_core.grounding import GROUNDED_QUESTION


def _archive(tmp_path, copy_record, shared_ecg):
    root = tmp_path / "archive"
    copy_record(shared_ecg / "ptb" / "s0010_re", root / "ptb")
    copy_record(shared_ecg / "ptbxl" / "00001_lr", root / "ptbxl")
    (root / "broken").mkdir()
    (root / "broken" / "x1.hea").write_text("x1 12 500 5000\n")          # header only, no signals
    return root


def test_knowledge_cli_local_dir(tmp_path, copy_record, shared_ecg, capsys):
    root = _archive(tmp_path, copy_record, shared_ecg)
    out = tmp_path / "items.jsonl"
    rc = main(["knowledge", "--input", str(root), "--output", str(out), "--images", str(tmp_path / "png"), "--json"])
    captured = capsys.readouterr()
    assert rc == 0
    summary = json.loads(captured.out)
    assert summary["items"] == 2 and summary["fully_supported"] == 2 and summary["skipped"] == 1
    assert "broken/x1" in captured.err and "1 records skipped" in captured.err
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert [i["id"] for i in items] == ["ptb/s0010_re", "ptbxl/00001_lr"]
    for item in items:
        assert item["conversations"][0]["value"] == "<image>\n" + GROUNDED_QUESTION
        assert item["conversations"][1]["from"] == "gpt" and len(item["conversations"][1]["value"]) > 200
        assert item["image"].endswith(item["id"] + ".png")
        with open(item["image"], "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # PTB's header names the clinical diagnosis; it reaches the paragraph
    assert "infero-lateral myocardial infarction" in items[0]["conversations"][1]["value"]


def test_knowledge_cli_manifest_labels_and_s3(tmp_path, copy_record, shared_ecg, s3_bucket, capsys):
    root = _archive(tmp_path, copy_record, shared_ecg)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("record_id,uri,labels\n"
                        f"xl1,{root / 'ptbxl' / '00001_lr'},LOW_VOLTAGE\n"
                        f"ptb1,{root / 'ptb' / 's0010_re'},\n"
                        f"gone,{root / 'nowhere' / 'r9'},\n")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"ptb1": "Old inferior myocardial infarction."}))
    out = f"s3://{s3_bucket}/knowledge/items.jsonl"
    rc = main(["knowledge", "--manifest", str(manifest), "--output", out, "--labels", str(labels), "--seed", "4"])
    captured = capsys.readouterr()
    assert rc == 0 and "wrote 2 items" in captured.out and "gone" in captured.err
    import fsspec

    with fsspec.open(out, "r") as f:
        items = {i["id"]: i for i in map(json.loads, f.read().splitlines())}
    assert set(items) == {"xl1", "ptb1"}
    assert "low QRS voltage" in items["xl1"]["conversations"][1]["value"]
    assert "inferior myocardial infarction" in items["ptb1"]["conversations"][1]["value"]
    assert items["xl1"]["image"] is None


def test_knowledge_cli_all_bad_fails(tmp_path, capsys):
    (tmp_path / "a.hea").write_text("garbage\n")
    rc = main(["knowledge", "--input", str(tmp_path), "--output", str(tmp_path / "o.jsonl")])
    assert rc == 1 and "no items written" in capsys.readouterr().err
