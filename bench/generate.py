"""Batched greedy generation throughput: reports/s and tokens/s at batch sizes 1, 2, 4 .. N,
each against the batch-1 loop over the same N prompts, in the same process.

CPU (default): gem-tiny saved in the published layout and loaded back, 64 new tokens.
GPU: `--device cuda --gem7b-shapes`: GEM-7B dimensions with random weights in bf16, fixed
400 new tokens. Every row decodes exactly --new-tokens tokens (EOS ignored), so the work per
report is the same at every batch size.

    .venv/bin/python bench/generate.py                   # CPU, gem-tiny, N = 8
    python bench/generate.py --device cuda --gem7b-shapes --max-batch 32
    python bench/generate.py --gem7b-shapes --device meta --dry-run   # build check only
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUESTIONS = [
    "Interpret the provided ECG image, identify key features and abnormalities in each lead, "
    "and generate a clinical diagnosis that is supported by the observed evidence.",
    "What is the rhythm?",
    "Describe the ST segments and T waves in the inferior and lateral leads.",
    "Is the QRS duration normal in V1?",
]


def build(args):
    """-> (model, tokenizer) as the run asks."""
    import torch

    from gem_core.model.configuration_gem import GemConfig
    from gem_core.model.loader import load_gem, resolve_dtype
    from gem_core.model.modeling_gem import GemForCausalLM
    from gem_core.model.tiny import save_gem_tiny
    from gem_core.model.tiny_tokenizer import build_tiny_tokenizer

    dtype = resolve_dtype(args.dtype or ("bfloat16" if args.gem7b_shapes else "float32"))
    if not args.gem7b_shapes:
        with tempfile.TemporaryDirectory() as tmp:
            save_gem_tiny(Path(tmp) / "gem-tiny", seed=0)
            model, tokenizer, _ = load_gem(Path(tmp) / "gem-tiny", dtype=dtype,
                                           device=args.device, attn_implementation=args.attn)
        return model, tokenizer
    # GEM-7B shapes, random weights: build on meta, allocate on the device, fill in place.
    with torch.device("meta"):
        model = GemForCausalLM(GemConfig.gem7b(), attn_implementation=args.attn)
    model.to(dtype).to_empty(device=args.device)  # 16-bit from the start: 14.3 GB, not 28.6
    gen = torch.Generator(device=args.device if args.device != "meta" else "cpu").manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and args.device != "meta":
                p.normal_(0.0, 0.02, generator=gen)
            elif args.device != "meta":
                p.fill_(1.0 if "norm" in name or name.endswith(("ln_1.weight", "ln_2.weight",
                                                                  "ln_pre.weight")) else 0.0)
    model.init_non_persistent_buffers(args.device)  # RoPE in fp32, CLIP position ids
    return model.eval().requires_grad_(False), build_tiny_tokenizer()


def timed(fn, device: str) -> float:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--gem7b-shapes", action="store_true", help="GEM-7B dims, random weights")
    p.add_argument("--max-batch", type=int, default=8, help="N: prompts per run, largest batch")
    p.add_argument("--new-tokens", type=int, default=None, help="default 400 (7B) / 64 (tiny)")
    p.add_argument("--dtype", default=None, help="default bfloat16 (7B) / float32 (tiny)")
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--repeats", type=int, default=None, help="best of R (default 3 / 1 on GPU)")
    p.add_argument("--dry-run", action="store_true", help="build the model, report, stop")
    p.add_argument("--json", action="store_true", help="also print one JSON line")
    args = p.parse_args(argv)

    import torch

    from gem_core.model.generate import GemGenerator

    if args.threads:
        torch.set_num_threads(args.threads)
    new_tokens = args.new_tokens or (400 if args.gem7b_shapes else 64)
    model, tokenizer = build(args)
    n_params = sum(p.numel() for p in model.parameters())
    name = "GEM-7B shapes (random)" if args.gem7b_shapes else "gem-tiny"
    print(f"model {name}: {n_params:,} parameters, {model.dtype}, device {args.device}")
    if args.dry_run:
        return 0

    n = args.max_batch
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    ecg = (torch.randn(n, 12, cfg.ecg.n_samples, generator=g) * 0.3)  # mV-scale
    images = torch.randn(n, 3, cfg.vision.image_size, cfg.vision.image_size, generator=g)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(n)]
    gen = GemGenerator(model, tokenizer)

    def run(batch: int):
        for s in range(0, n, batch):
            out = gen.generate(ecg[s:s + batch], images[s:s + batch], questions[s:s + batch],
                               max_new_tokens=new_tokens, stop_token_ids=())
            assert all(r.n_new_tokens == new_tokens for r in out)

    gen.generate(ecg[:2], images[:2], questions[:2], max_new_tokens=4, stop_token_ids=())  # warm-up
    repeats = args.repeats or (1 if args.device.startswith("cuda") else 3)
    sizes = [b for b in (1, 2, 4, 8, 16, 32, 64, 128) if b <= n]
    if n not in sizes:
        sizes.append(n)
    # Interleaved rounds, best time per batch size: the CPU machine is shared, so a slow
    # spell hits every size alike instead of whichever ran during it.
    best = {b: float("inf") for b in sizes}
    for _ in range(repeats):
        for b in sizes:
            best[b] = min(best[b], timed(lambda: run(b), args.device))
    base = best[1]
    rows = []
    print(f"{n} reports x {new_tokens} new tokens, best of {repeats} interleaved rounds; "
          f"baseline = batch-1 loop, {base:.2f} s")
    print(f"{'batch':>5} {'seconds':>8} {'reports/s':>10} {'tokens/s':>10} {'vs batch-1 loop':>16}")
    for b in sizes:
        sec = best[b]
        row = {"batch": b, "seconds": round(sec, 3), "reports_per_s": round(n / sec, 3),
               "tokens_per_s": round(n * new_tokens / sec, 1), "speedup": round(base / sec, 2)}
        rows.append(row)
        print(f"{b:>5} {sec:>8.2f} {row['reports_per_s']:>10.2f} {row['tokens_per_s']:>10.1f} "
              f"{row['speedup']:>15.2f}x")
    if args.device.startswith("cuda"):
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 1e9:.1f} GB")
    if args.json:
        print(json.dumps({"model": name, "device": args.device, "new_tokens": new_tokens,
                          "n_reports": n, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
