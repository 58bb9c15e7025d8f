"""Compare a checkpoint with what GEM needs: keys, shapes, parameter count, dtypes.

`inspect_checkpoint` is what the loader runs before touching any weight (so a bad
checkpoint fails in seconds, listing every problem); `check_checkpoint` is its report for
`gem-ecg model check`.
"""
from __future__ import annotations

import difflib
import posixpath
from dataclasses import asdict, dataclass, field

from gem_core.model.checkpoint_files import CheckpointFiles, TensorInfo, open_checkpoint
from gem_core.model.configuration_gem import GemConfig
from gem_core.model.errors import KeyMismatch
from gem_core.model.key_routing import ECG_TOWER_PREFIX, IGNORED, RECOMPUTED, published_shapes

_TORCH_TO_CODE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64"}
_LIST_LIMIT = 20  # per category in error messages


@dataclass
class CheckReport:
    uri: str
    config: dict
    n_expected: int
    n_found: int
    parameter_count: int  # elements of the tensors the model uses, as found
    expected_parameter_count: int
    dtypes: dict[str, int]  # safetensors dtype code -> number of tensors
    total_bytes: int
    ecg_tower_source: str  # "shards", the ECG-CoCa file used, or "missing"
    missing: list[dict] = field(default_factory=list)  # {key, shape}
    unexpected: list[dict] = field(default_factory=list)  # {key, shape, file, close_to}
    misshaped: list[dict] = field(default_factory=list)  # {key, expected, found}
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # not about keys (tokenizer, ...)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misshaped or self.problems)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def summary(self) -> str:
        return (f"{len(self.missing)} missing, {len(self.unexpected)} unexpected, "
                f"{len(self.misshaped)} mis-shaped keys")

    def detail_lines(self, limit: int = _LIST_LIMIT) -> list[str]:
        lines = []
        for title, items, fmt in (
            ("missing", self.missing, lambda d: f"{d['key']} {list(d['shape'])}"),
            ("unexpected", self.unexpected, lambda d: f"{d['key']} {list(d['shape'])}"
             + (f" (close to missing {d['close_to']})" if d.get("close_to") else "")),
            ("mis-shaped", self.misshaped,
             lambda d: f"{d['key']} expected {list(d['expected'])} found {list(d['found'])}"),
        ):
            for d in items[:limit]:
                lines.append(f"  {title}: {fmt(d)}")
            if len(items) > limit:
                lines.append(f"  ... and {len(items) - limit} more {title}")
        lines.extend(f"  problem: {p}" for p in self.problems)
        return lines

    def raise_if_bad(self) -> None:
        if self.ok:
            return
        reason = f"checkpoint does not match GEM: {self.summary()}"
        if self.problems:
            reason += f", {len(self.problems)} other problem(s)"
        raise KeyMismatch(self.uri, "\n".join([reason] + self.detail_lines()),
                          missing=[d["key"] for d in self.missing],
                          unexpected=[d["key"] for d in self.unexpected],
                          misshaped=[d["key"] for d in self.misshaped])


@dataclass
class Inspection:
    files: CheckpointFiles
    config: GemConfig
    report: CheckReport
    ecg_coca: dict | None  # published key -> tensor, when the ECG tower comes from a .pt


def expected_shapes(config: GemConfig) -> dict[str, tuple[int, ...]]:
    """Published key -> shape for `config`, from a model built on the meta device."""
    import torch

    from gem_core.model.modeling_gem import GemForCausalLM

    with torch.device("meta"):
        model = GemForCausalLM(config, attn_implementation="eager")
    return published_shapes(model)


def compare(uri: str, config: GemConfig, expected: dict[str, tuple],
            found: dict[str, TensorInfo], ecg_source: str) -> CheckReport:
    missing, unexpected, misshaped, ignored = [], [], [], []
    used = {}
    for key, info in found.items():
        if IGNORED.match(key) or RECOMPUTED.match(key):
            ignored.append(key)
        elif key not in expected:
            unexpected.append({"key": key, "shape": list(info.shape), "file": info.file})
        elif tuple(info.shape) != tuple(expected[key]):
            misshaped.append({"key": key, "expected": list(expected[key]),
                              "found": list(info.shape)})
        else:
            used[key] = info
    missing = [{"key": k, "shape": list(s)} for k, s in expected.items() if k not in found]
    missing_keys = [d["key"] for d in missing]
    for d in unexpected:  # a renamed key shows up as one missing + one unexpected: pair them
        close = difflib.get_close_matches(d["key"], missing_keys, n=1, cutoff=0.8)
        d["close_to"] = close[0] if close else None
    dtypes: dict[str, int] = {}
    for info in found.values():
        dtypes[info.dtype] = dtypes.get(info.dtype, 0) + 1
    n_exp = 0
    for shape in expected.values():
        n = 1
        for d in shape:
            n *= d
        n_exp += n
    return CheckReport(
        uri=uri,
        config={"hidden_size": config.hidden_size, "num_hidden_layers": config.num_hidden_layers,
                "vocab_size": config.vocab_size, "n_ecg_tokens": config.n_ecg_tokens,
                "n_image_tokens": config.n_image_tokens, "torch_dtype": config.torch_dtype,
                "mm_vision_tower": config.mm_vision_tower},
        n_expected=len(expected), n_found=len(used),
        parameter_count=sum(i.numel for i in used.values()), expected_parameter_count=n_exp,
        dtypes=dtypes, total_bytes=sum(i.nbytes for i in found.values()),
        ecg_tower_source=ecg_source, missing=missing, unexpected=unexpected,
        misshaped=misshaped, ignored=sorted(ignored),
    )


def inspect_checkpoint(uri: str, ecg_tower_path: str | None = None,
                       load_ecg_fallback: bool = True) -> Inspection:
    """Open the directory, read config and headers, compare with the model the config builds.

    If the shards hold no ECG-tower tensor, the ECG-CoCa `.pt` (given as `ecg_tower_path`, or
    the single `.pt` in the directory) supplies it.
    """
    from gem_core.model.ecg_coca_fallback import load_ecg_coca
    from gem_core.model.tokenizer import GemTokenizer

    files = open_checkpoint(uri)
    config = GemConfig.from_json_text(files.read_text("config.json"),
                                      source=files.path("config.json"))
    expected = expected_shapes(config)
    found = dict(files.tensors)
    has_ecg = any(k.startswith(ECG_TOWER_PREFIX) and not IGNORED.match(k) for k in found)
    ecg_source, ecg_coca = ("shards" if has_ecg else "missing"), None
    if not has_ecg:
        coca_uri = ecg_tower_path or (files.fs.unstrip_protocol(files.path(files.ecg_coca_file))
                                      if files.ecg_coca_file else None)
        if coca_uri and load_ecg_fallback:
            ecg_coca = load_ecg_coca(coca_uri)
            ecg_source = posixpath.basename(str(coca_uri))
            for key, t in ecg_coca.items():
                code = _TORCH_TO_CODE.get(str(t.dtype).removeprefix("torch."), str(t.dtype))
                found[key] = TensorInfo(code, tuple(t.shape), ecg_source)
        elif coca_uri:
            ecg_source = f"{posixpath.basename(str(coca_uri))} (not read)"
    report = compare(files.uri, config, expected, found, ecg_source)

    if "tokenizer.model" not in files.names:
        report.problems.append("tokenizer.model is missing")
    else:
        tok = GemTokenizer(files.read_bytes("tokenizer.model"))
        report.config["tokenizer_vocab_size"] = tok.vocab_size
        if tok.vocab_size > config.vocab_size:
            report.problems.append(f"tokenizer has {tok.vocab_size} pieces but the model's "
                                   f"vocab_size is {config.vocab_size}")
    return Inspection(files, config, report, ecg_coca)


def check_checkpoint(uri: str, ecg_tower_path: str | None = None) -> CheckReport:
    """The report `gem-ecg model check` prints (does not raise on key problems)."""
    return inspect_checkpoint(uri, ecg_tower_path).report
