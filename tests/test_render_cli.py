"""`gem-ecg render`: one record to a file, several to a directory, bad records reported."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from gem_core.prepare import load_prepared
from gem_core.render import model_input, render_page
from jobs.cli import main


def test_one_record_writes_the_training_page_and_model_input(shared_ecg, tmp_path, capsys):
    rec = shared_ecg / "ptbxl" / "00001_lr"
    out = tmp_path / "page.png"
    assert main(["render", str(rec) + ".hea", "-o", str(out), "--model-input", "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written == [{"record": "00001_lr", "png": str(out), "model_input": str(tmp_path / "page.npy")}]
    signal = load_prepared(str(rec)).signal
    # The plain GEM page is exactly the training page, and the .npy exactly the model input.
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), render_page(signal))
    assert np.array_equal(np.load(tmp_path / "page.npy"), model_input(signal))


def test_several_records_to_a_directory_in_one_process(shared_ecg, tmp_path):
    a = shared_ecg / "ptb" / "s0010_re"
    b = shared_ecg / "ptbxl" / "00001_lr"
    renamed = tmp_path / "bad_rec"
    (tmp_path / "bad_rec.hea").write_text("bad_rec twelve 500 5000\n")        # unparsable header
    out = tmp_path / "pics"
    rc = main(["render", str(a), str(renamed), str(b), "-o", str(out), "--layout", "clinical",
               "--model-input"])
    assert rc == 1                                                          # one record failed
    assert sorted(p.name for p in out.iterdir()) == ["00001_lr.npy", "00001_lr.png",
                                                     "s0010_re.npy", "s0010_re.png"]
    img = np.asarray(Image.open(out / "s0010_re.png"))
    assert img.shape == (1700, 2200, 3)
    assert np.load(out / "00001_lr.npy").shape == (3, 336, 336)


def test_bad_record_is_one_clear_line(tmp_path, capsys):
    assert main(["render", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing" in err[0]
    assert not (tmp_path / "x.png").exists()


def test_overlay_from_the_cli(shared_ecg, tmp_path):
    out = tmp_path / "ov.png"
    assert main(["render", str(shared_ecg / "ptbxl" / "00001_lr"), "-o", str(out), "--overlay"]) == 0
    plain = render_page(load_prepared(str(shared_ecg / "ptbxl" / "00001_lr")).signal)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == plain.shape and not np.array_equal(img, plain)
