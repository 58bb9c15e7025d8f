"""What a checkpoint directory holds, and reading its safetensors shards tensor by tensor.

A directory is a local path or any fsspec URL (s3://bucket/models/GEM). Checking reads only
the safetensors headers (8 bytes + a JSON header per shard, range reads on object stores), so
checking a 14 GB checkpoint costs a few kilobytes of I/O. Loading reads each tensor's byte
range straight into a tensor of its own (no memory map, no temporary download): host memory
holds the weights already loaded plus one tensor in flight.
"""
from __future__ import annotations

import json
import posixpath
import struct
from dataclasses import dataclass, field

from gem_core.model.errors import CheckpointError, MissingFile, PickleRefused

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
# safetensors dtype code -> bytes per element
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}
TORCH_DTYPE_NAMES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                     "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
                     "BOOL": "bool"}
_MAX_HEADER = 100 * 1024 * 1024


class _TorchDtypes(dict):
    """safetensors code -> torch dtype, resolved on first use (torch is imported lazily)."""

    def __missing__(self, code):
        import torch

        self[code] = getattr(torch, TORCH_DTYPE_NAMES[code])
        return self[code]


TORCH_DTYPES = _TorchDtypes()


@dataclass
class TensorInfo:
    dtype: str  # safetensors code, e.g. "BF16"
    shape: tuple[int, ...]
    file: str  # file name inside the checkpoint directory
    start: int = 0  # absolute byte offsets of the data in that file
    end: int = 0

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPE_BYTES.get(self.dtype, 0)


@dataclass
class CheckpointFiles:
    uri: str
    fs: object  # fsspec filesystem
    root: str  # path inside fs
    names: set[str]  # file names in the directory
    shards: list[str]  # safetensors files, in order
    tensors: dict[str, TensorInfo] = field(default_factory=dict)  # from the shard headers
    ecg_coca_file: str | None = None  # a separate ECG-CoCa `.pt`, if the directory has one

    def path(self, name: str) -> str:
        return posixpath.join(self.root, name)

    def read_bytes(self, name: str) -> bytes:
        if name not in self.names:
            raise MissingFile(self.uri, f"{name} is missing")
        with self.fs.open(self.path(name), "rb") as f:
            return f.read()

    def read_text(self, name: str) -> str:
        return self.read_bytes(name).decode("utf-8")

    def iter_tensors(self, shard: str, float_dtype=None):
        """Yield (key, CPU tensor) for every tensor of `shard`, in file order; each tensor
        owns its memory. With `float_dtype`, floating tensors stored in another dtype are read
        into one reused staging buffer and converted from there, so conversion leaves no
        freed source-dtype blocks behind to fragment the heap."""
        import torch

        infos = sorted(((k, i) for k, i in self.tensors.items() if i.file == shard),
                       key=lambda ki: ki[1].start)
        staging = torch.empty(0, dtype=torch.uint8)
        with self.fs.open(self.path(shard), "rb", cache_type="none") as f:
            for key, info in infos:
                n = info.end - info.start
                if n != info.nbytes:
                    raise CheckpointError(self.uri, f"{shard}: {key} has {n} bytes for shape "
                                          f"{list(info.shape)} {info.dtype}")
                src_dtype = TORCH_DTYPES[info.dtype]
                convert = (float_dtype is not None and src_dtype.is_floating_point
                           and src_dtype != float_dtype)
                if convert and staging.numel() < n:
                    staging = torch.empty(n, dtype=torch.uint8)
                raw = staging[:n] if convert else torch.empty(n, dtype=torch.uint8)
                f.seek(info.start)
                view, done = memoryview(raw.numpy()), 0
                while done < n:  # little-endian bytes, as safetensors stores them
                    got = f.readinto(view[done:])
                    if not got:
                        raise CheckpointError(self.uri, f"{shard} is truncated at {key}")
                    done += got
                tensor = raw.view(src_dtype).reshape(info.shape)
                yield key, (tensor.to(float_dtype) if convert else tensor)


def read_safetensors_header(fs, path: str, uri: str, name: str) -> dict[str, TensorInfo]:
    """Parse a safetensors header: u64 little-endian length, then that many bytes of JSON."""
    with fs.open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(uri, f"{name} is not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER:
            raise CheckpointError(uri, f"{name} is not a safetensors file (header of {n} bytes)")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(uri, f"{name} has an unreadable safetensors header") from None
    header.pop("__metadata__", None)
    base = 8 + n  # data offsets count from the end of the header
    out = {}
    for key, v in header.items():
        if v.get("dtype") not in TORCH_DTYPE_NAMES:
            raise CheckpointError(uri, f"{name}: {key} has unsupported dtype {v.get('dtype')!r}")
        begin, end = v["data_offsets"]
        out[key] = TensorInfo(v["dtype"], tuple(v["shape"]), name, base + begin, base + end)
    return out


def open_checkpoint(uri: str) -> CheckpointFiles:
    """List the directory, resolve the shards (index or single file), read their headers.

    Raises MissingFile (no directory, no config, a shard the index names is absent),
    PickleRefused (only .bin/.pt weights) or CheckpointError (index and headers disagree).
    """
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(uri))
    root = root.rstrip("/")
    if not fs.isdir(root):
        raise MissingFile(str(uri), "no such checkpoint directory")
    names = {posixpath.basename(p.rstrip("/")) for p in fs.ls(root, detail=False)}
    files = CheckpointFiles(uri=str(uri), fs=fs, root=root, names=names, shards=[])
    if "config.json" not in names:
        raise MissingFile(files.uri, "config.json is missing")

    weight_map: dict[str, str] | None = None
    if INDEX_NAME in names:
        try:
            weight_map = json.loads(files.read_text(INDEX_NAME))["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise CheckpointError(files.uri, f"{INDEX_NAME} has no readable weight_map") from None
        files.shards = sorted(set(weight_map.values()))
        absent = [s for s in files.shards if s not in names]
        if absent:
            n_keys = sum(1 for s in weight_map.values() if s in absent)
            raise MissingFile(files.uri, f"shard(s) named by {INDEX_NAME} are missing: "
                              f"{', '.join(absent)} ({n_keys} tensors)")
    elif SINGLE_NAME in names:
        files.shards = [SINGLE_NAME]
    else:
        files.shards = sorted(n for n in names if n.endswith(".safetensors"))

    pickles = sorted(n for n in names if n.endswith(PICKLE_SUFFIXES))
    if not files.shards:
        if pickles:
            raise PickleRefused(files.uri, f"only pickle weights found ({', '.join(pickles)}); "
                                "they can run code when opened and are not loaded: convert "
                                "them to safetensors")
        raise MissingFile(files.uri, "no safetensors weights (model*.safetensors)")
    # A separate ECG-CoCa checkpoint (used only if the shards lack the ECG tower).
    coca = [n for n in pickles if n.endswith((".pt", ".pth"))]
    files.ecg_coca_file = coca[0] if len(coca) == 1 else None

    for shard in files.shards:
        for key, info in read_safetensors_header(fs, files.path(shard), files.uri, shard).items():
            if key in files.tensors:
                raise CheckpointError(files.uri, f"tensor {key} is in both "
                                      f"{files.tensors[key].file} and {shard}")
            files.tensors[key] = info
    if weight_map is not None:
        wrong = [k for k, s in weight_map.items()
                 if k not in files.tensors or files.tensors[k].file != s]
        if wrong:
            raise CheckpointError(files.uri, f"{INDEX_NAME} disagrees with the shards for "
                                  f"{len(wrong)} tensors, e.g. {wrong[0]}")
    return files
