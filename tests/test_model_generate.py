"""Batched greedy generation with gem-tiny: batch == batch-of-1, KV cache == recompute,
per-row EOS stop, ECG-only prompting, and the training forward's label masking."""
from __future__ import annotations

import pytest
import torch

from gem_core.model.generate import GemGenerator
from gem_core.model.loader import load_gem
from gem_core.model.training_batch import build_training_batch
from tests.model_fixtures import (QUESTIONS_8, clip_images, gem_tiny_dir,  # noqa: F401
                                  one_torch_thread, real_ecgs, torch_threads)

ANSWERS = ["Sinus rhythm at 72 bpm with normal conduction.",
           "Atrial fibrillation with a rapid ventricular response and ST depression in V5.",
           "Left bundle branch block."]


@pytest.fixture(scope="module")
def tiny_fp32(gem_tiny_dir):
    model, tokenizer, _ = load_gem(gem_tiny_dir, dtype="float32", attn_implementation="eager")
    return GemGenerator(model, tokenizer)


@pytest.fixture(scope="module")
def taught(gem_tiny_dir, real_ecgs):
    """gem-tiny fine-tuned (training forward, -100 masked prompt) to answer the same question
    differently for three real ECGs (ECG-only prompts, to keep it quick): answers of different
    lengths, each ending with EOS."""
    model, tokenizer, _ = load_gem(gem_tiny_dir, dtype="float32")
    model.train().requires_grad_(True)
    batch = build_training_batch(tokenizer, ["What is the rhythm?"] * 3, ANSWERS)
    ecg, img = real_ecgs[[0, 1, 3]], None
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    with torch_threads(1):
        for _ in range(60):
            loss = model(**batch, ecg=ecg, images=img).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval().requires_grad_(False)
    return GemGenerator(model, tokenizer), ecg, img, loss.item()


def test_batch_of_8_mixed_lengths_equals_batch_of_1(tiny_fp32, real_ecgs, clip_images):
    gen = tiny_fp32
    idx = [0, 1, 2, 3, 3, 2, 1, 0]
    ecg, img = real_ecgs[idx], clip_images[[3, 2, 1, 0, 0, 1, 2, 3]]
    lengths = {len(ids) for ids in gen.prompt_ids(QUESTIONS_8, with_media=True)}
    assert len(lengths) == 8  # every row padded differently
    batched = gen.generate(ecg, img, QUESTIONS_8, max_new_tokens=16)
    single = [gen.generate(ecg[i:i + 1], img[i:i + 1], [q], max_new_tokens=16)[0]
              for i, q in enumerate(QUESTIONS_8)]
    for b, s in zip(batched, single):
        assert b == s
    assert all(r.n_new_tokens == 16 and not r.stopped_on_eos for r in batched)
    assert len({tuple(r.token_ids) for r in batched}) > 4  # rows really differ


@torch.no_grad()
def test_kv_cache_decoding_equals_full_recompute(tiny_fp32, real_ecgs, clip_images):
    gen = tiny_fp32
    model = gen.model
    ecg, img, q = real_ecgs[1:2], clip_images[2:3], QUESTIONS_8[3]
    got = gen.generate(ecg, img, [q], max_new_tokens=10, stop_token_ids=()).pop().token_ids
    prompt = gen.prompt_ids([q], with_media=True)[0]
    media = model.media_embeddings(ecg, img)
    ids = list(prompt)
    for _ in range(10):  # no cache: the whole sequence every step
        batch = model.splice([ids], media)
        logits = model.llm(inputs_embeds=batch.inputs_embeds,
                           attention_mask=batch.attention_mask).logits
        ids.append(int(logits[0, -1].argmax()))
    assert got == ids[len(prompt):]


def test_each_row_stops_at_its_own_eos(taught):
    gen, ecg, img, final_loss = taught
    assert final_loss < 0.1
    results = gen.generate(ecg, img, ["What is the rhythm?"] * 3, max_new_tokens=40)
    assert [r.text for r in results] == ANSWERS
    for r, answer in zip(results, ANSWERS):
        assert r.stopped_on_eos
        assert r.n_new_tokens == len(gen.tokenizer.encode(answer, add_bos=False)) + 1
    assert len({r.n_new_tokens for r in results}) == 3  # rows stopped at different steps
    cut = gen.generate(ecg, img, ["What is the rhythm?"] * 3, max_new_tokens=5)
    for r, full in zip(cut, results):
        assert r.n_new_tokens == 5 and not r.stopped_on_eos and r.token_ids == full.token_ids[:5]


@torch.no_grad()
def test_training_loss_is_over_answer_tokens_only(taught):
    gen, ecg, img, _ = taught
    model, tok = gen.model, gen.tokenizer
    batch = build_training_batch(tok, ["What is the rhythm?"] * 2, ANSWERS[:2])
    labels = batch["labels"]
    n_prompt = len(gen.prompt_ids(["What is the rhythm?"], with_media=True)[0])
    assert (labels[:, :n_prompt] == -100).all()
    assert labels[0, n_prompt:].tolist()[:len(tok.encode(ANSWERS[0], add_bos=False)) + 1] == \
        tok.encode(ANSWERS[0], add_bos=False) + [tok.eos_token_id]
    out = model(**batch, ecg=ecg[:2], images=img)
    # the same loss by hand: logits at media-shifted positions predict the next answer token
    shift = model.config.n_ecg_tokens - 1
    losses = []
    for i in range(2):
        n = int(batch["attention_mask"][i].sum())
        for t in range(n_prompt, n):
            losses.append(torch.nn.functional.cross_entropy(
                out.logits[i, t + shift - 1], labels[i, t]))
    torch.testing.assert_close(out.loss, torch.stack(losses).mean())


def test_ecg_only_prompting(tiny_fp32, real_ecgs):
    gen = tiny_fp32
    ecg = real_ecgs[[0, 3]]
    qs = [QUESTIONS_8[0], QUESTIONS_8[1]]
    both = gen.generate(ecg, None, qs, max_new_tokens=12)
    alone = [gen.generate(ecg[i:i + 1], None, [q], max_new_tokens=12)[0] for i, q in enumerate(qs)]
    assert both == alone
    # the ECG is really used: another window changes the answer tokens
    other = gen.generate(real_ecgs[[1, 2]], None, qs, max_new_tokens=12)
    assert [r.token_ids for r in other] != [r.token_ids for r in both]
    with pytest.raises(ValueError, match="1 ecg for 2 questions"):
        gen.generate(ecg[:1], None, qs, max_new_tokens=4)
