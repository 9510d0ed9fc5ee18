"""The generator as an ONNX file, run by onnxruntime on the CPU.

`export` writes a generator (fp32, any batch, any height and width that are multiples of 32) with
the weights' metadata inside it (`metadata_props["colorizer_meta"]`, JSON); `OnnxNet` runs one.
A color strength is baked in at export (the blended weights are what is exported). Classes-head
weights export their logits; the annealed mean is applied after, as for torch.

Colorizer.load(backend="onnx") with .pt weights exports once into `cache_file()`: a folder `.onnx/`
beside the weights, named by the weights files' identity (name, size, modification time) and the
color strength, so the next start skips building the network (no fastai import) and exporting; beside
each export, the graph onnxruntime optimized for this machine (`optimized_file`), so the next start
also skips optimizing (up to 1.5 s).
A folder that cannot be written is not an error: the model is then exported in memory every start.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .files import atomic_path, write_atomic

META_KEY = "colorizer_meta"
OPSET = 17
MULTIPLE = 32  # the U-Net's input height and width must be multiples of this (infer.render_shape)
EXPORT_VERSION = 1  # bump when what is exported changes: older cache files are then not used
CACHE_DIR = ".onnx"  # beside the weights
CACHE_KEEP = 4  # cache files kept per folder, newest first


class OnnxError(ValueError):
    """An ONNX file that cannot be used, or onnxruntime missing; the message names the file."""


def export(generator, meta: dict, dest: str | Path | None = None) -> bytes | Path:
    """The generator (a torch module) as ONNX: written atomically to dest, or returned as bytes."""
    import copy

    import torch

    net = copy.deepcopy(generator).float().cpu().to(memory_format=torch.contiguous_format).eval()
    example = torch.zeros(1, int(meta.get("in_channels", 1)), 2 * MULTIPLE, 3 * MULTIPLE)  # L (and hints)
    axes = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter: fastai's TensorBase breaks the dynamo one
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), buffer, input_names=["L"], output_names=["out"],
                          dynamic_axes={"L": axes, "out": axes}, opset_version=OPSET, dynamo=False)
    data = _with_meta(buffer.getvalue(), meta)
    if dest is None:
        return data
    return write_atomic(dest, data)


def _with_meta(data: bytes, meta: dict) -> bytes:
    import onnx

    model = onnx.load_from_string(data)
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta, default=str)
    return model.SerializeToString()


def _options(ort, optimized: bool = False, save: Path | None = None, threads: int | None = None):
    """threads: the session's CPU threads (None: onnxruntime's own choice, one per core); several
    sessions on one machine (batch's workers) each take their share instead of all the cores."""
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads, options.inter_op_num_threads = int(threads), 1
    options.log_severity_level = 3  # errors only
    # Idle pool threads sleep instead of spinning: the folder pipeline's decode and encode threads
    # need those cores between two network calls (README, Speed).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized:  # a graph this machine optimized before: skip the ~0.5-1.5 s of optimizing it again
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if save is not None:
        options.optimized_model_filepath = str(save)
    return options


def machine_key() -> str:
    """What an optimized graph depends on: onnxruntime's version and this CPU's instruction sets (its
    convolutions are laid out for them), so a weights folder shared between machines keeps one each."""
    import platform

    import onnxruntime as ort

    flags = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), flags)
    except OSError:
        pass
    return hashlib.sha1(f"{ort.__version__} {platform.machine()} {flags}".encode()).hexdigest()[:8]


class _NotSaved(Exception):
    """onnxruntime wrote no optimized graph: nothing to keep."""


class OnnxNet:
    """An onnxruntime session on the CPU: normalised L (B, 1, h, w), float32 -> the generator's output.

    optimized: where this machine's optimized graph of source is kept (cached_net): loaded as it is when
    there, else written there (atomically) while the session is made; unusable or unwritable is no error."""

    backend, device, precision = "onnx", "cpu", "fp32"  # as device.TorchNet says where it runs

    def __init__(self, source: str | Path | bytes, name: str = "<memory>", optimized: Path | None = None,
                 threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise OnnxError("the onnx backend needs onnxruntime (pip install onnxruntime)") from None
        self.name = str(source) if isinstance(source, (str, Path)) else name
        model = self.name if isinstance(source, (str, Path)) else bytes(source)
        self.session = None
        if optimized is not None and optimized.is_file():
            try:
                self.session = ort.InferenceSession(str(optimized), _options(ort, optimized=True, threads=threads),
                                                    providers=["CPUExecutionProvider"])
            except Exception:  # noqa: BLE001 - damaged or from another onnxruntime: optimize again
                optimized.unlink(missing_ok=True)
        if self.session is None:
            self.session = self._optimize(ort, model, optimized, threads)
        props = self.session.get_modelmeta().custom_metadata_map
        if META_KEY not in props:
            raise OnnxError(f"{self.name}: not a colorizer ONNX model (no {META_KEY} metadata; "
                            f"make one with `python -m colorizer export-onnx`)")
        self.meta = json.loads(props[META_KEY])
        self.input = self.session.get_inputs()[0].name

    def _optimize(self, ort, model, optimized: Path | None, threads: int | None = None):
        """A session on model, its optimized graph saved to optimized (files.atomic_path) when given
        and writable; when it cannot be saved (a full disk, a read-only folder), a session all the same."""
        if optimized is not None:
            session = None
            try:
                with atomic_path(optimized) as tmp:
                    session = ort.InferenceSession(model, _options(ort, save=tmp, threads=threads),
                                                   providers=["CPUExecutionProvider"])
                    if tmp.stat().st_size == 0:
                        raise _NotSaved
            except Exception:  # noqa: BLE001 - onnxruntime raises its own types; saving is optional
                pass
            if session is not None:
                return session
        try:
            return ort.InferenceSession(model, _options(ort, threads=threads), providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own Fail/InvalidGraph types
            raise OnnxError(f"{self.name}: not a usable ONNX model ({err.__class__.__name__})") from None

    def __call__(self, L: np.ndarray) -> np.ndarray:
        h, w = L.shape[-2:]
        if h % MULTIPLE or w % MULTIPLE:
            raise ValueError(f"ONNX generator input must be a multiple of {MULTIPLE} px, not {h}x{w}")
        return self.session.run(None, {self.input: np.ascontiguousarray(L, dtype=np.float32)})[0]


def cache_file(weights: Path, base: Path | None, strength: float, members: Sequence[Path] = ()) -> Path:
    """Where the export of these weights (blended with base at strength; averaged weights: of their
    member files) is kept. A change to any of those files is a new export."""
    parts = [EXPORT_VERSION, strength]
    for p in (weights, base, *members):
        if p is not None:
            st = Path(p).stat()
            parts += [Path(p).resolve().name, st.st_size, st.st_mtime_ns]
    key = hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:12]
    return Path(weights).parent / CACHE_DIR / f"{Path(weights).stem}.{key}.onnx"


def optimized_file(export_path: Path) -> Path:
    """Where this machine's optimized graph of an export in the cache is kept, beside it."""
    return export_path.with_name(f"{export_path.name}.{machine_key()}.opt")


def prune_cache(folder: Path, keep: int = CACHE_KEEP) -> None:
    """Keep the newest `keep` exports in folder (each is the size of the fp32 weights), and the
    optimized graphs of those only."""
    files = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)
    kept = {p.name for p in files[:keep]}
    for opt in folder.glob("*.onnx.*.opt"):
        if opt.name.split(".onnx.")[0] + ".onnx" not in kept:
            opt.unlink(missing_ok=True)


def first_run_note(weights: Path) -> None:
    """The one line a user sees when a start is slow because the weights are exported (once)."""
    print(f"Preparing {weights} for this machine, once: about 15 s (later runs start in under a "
          f"second; the result is kept in {Path(weights).parent / CACHE_DIR}/)", file=sys.stderr, flush=True)


def cached_net(weights: Path, base: Path | None, strength: float, make_generator, meta: dict,
               members: Sequence[Path] = (), note=first_run_note, threads: int | None = None) -> OnnxNet:
    """The ONNX generator for these weights: from the cache when there, else exported (and cached when
    the folder can be written). make_generator() builds the torch generator (only on a miss, after
    note(weights) has said why this start is slow)."""
    path = cache_file(weights, base, strength, members)
    if path.is_file():
        try:
            return OnnxNet(path, optimized=optimized_file(path), threads=threads)
        except OnnxError:
            path.unlink(missing_ok=True)  # damaged (a disk that filled up): export again
    note(weights)
    generator = make_generator()
    try:
        export(generator, meta, path)
        net = OnnxNet(path, optimized=optimized_file(path), threads=threads)
        prune_cache(path.parent)
        return net
    except OSError:  # a read-only folder: export in memory
        return OnnxNet(export(generator, meta), name=f"{weights} (exported in memory)", threads=threads)
