"""Inference: weights in, photo of any size out.

Chroma (ab) is predicted on a copy resized to `render_size` (the short side) and laid,
upsampled, onto the photo's own full-resolution L channel: the output has the input's
size and sharpness. Color input is turned gray first.

Memory: the full-size work (RGB -> L, chroma upsampling, Lab -> 8-bit RGB) runs in row bands
(`lightness`, `compose`; color.row_bands), so besides the photo itself a colorization holds its
L (4 bytes a pixel) and its result (Pillow's RGB, 4 bytes a pixel) and a few tens of MB more:
a 49 MP photo adds about 1 GB to the loaded model's memory (README), not the 8-9 GB of
whole-photo float tensors.

Color strength: stage-2 (GAN) weights can be blended with the stage-1 weights they started from
(ESRGAN's network interpolation), (1 - s) * stage 1 + s * stage 2 for every floating-point
tensor of the state dict: 1 is stage 2 as trained, 0 is stage 1, between is a safer, duller
stage 2. The partner is found by the metadata stage 2 keeps of its start (meta["init"]).

Heads: weights predict ab directly (meta["head"] "ab", or no head: the older files) or one logit
per ab bin ("classes", color_classes.py), decoded by the annealed mean at a temperature.

Averaged weights (averaged.py) name several ab weights, found as a partner is; they load as one
generator whose output is the mean of theirs times a scale.

Backends (backend.py): "torch" (device.TorchNet: the generator as a torch module, in bf16 where it
pays: weights cast on the CPU, autocast on GPUs) or "onnx" (onnx_backend.OnnxNet: onnxruntime on the
CPU, .onnx files made by `export-onnx`, or .pt weights exported once and cached beside them). Both
are a call from numpy to numpy, and everything around the network is numpy (color.py), so the onnx
path with a cached export imports no torch at all (README, Speed). Many photos: `prepare` each
(decode-side work, safe in threads), run `predict_ab` on a batch of one render shape, `finish` each
(full-size color, safe in threads).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from .averaged import STAGE as AVERAGED_STAGE, find_members, is_averaged, is_packed
from .backend import resolve_backend
from .checkpoint import (COLORIZE, HINTS, WeightsError, find_described, load_weights, read_meta, require_task,
                         task_of)
from .color import BAND_PIXELS, photo_lightness, photo_rgb, row_bands, upsample_rows, widen
from .limits import (DEFAULT_COLOR_STRENGTH, DEFAULT_RENDER_SIZE, MAX_COLOR_STRENGTH, MAX_RENDER_SIZE,
                     MAX_TEMPERATURE, MIN_COLOR_STRENGTH, MIN_RENDER_SIZE, MIN_TEMPERATURE)
from .onnx_backend import OnnxError, OnnxNet, cached_net
from .registry import (TASKS, WEIGHTS_DIR_ENV, WEIGHTS_ENV, existing_weights, resolve,  # noqa: F401 (re-exported)
                       weights_folder)

def no_weights_message(folder: str | Path) -> str:
    return TASKS[COLORIZE].missing.format(folder=folder)


def no_hints_message(path: str | Path) -> str:
    return (f"{path}: these weights take no color hints; train hints weights with "
            f"`python pretrain.py --task hints --init {path}` (docs/training.md, Color hints)")


def hints_weights_path(weights: str | Path | None, weights_dir: str | Path | None) -> Path:
    """The weights for colorizing with hints (registry.resolve(HINTS)): checked to take hints when loaded."""
    return resolve(HINTS, weights, weights_dir)


def resolve_weights(weights: str | Path | None = None, weights_dir: str | Path | None = None,
                    ranked: list[Path] | None = None, task: str | None = None) -> Path:
    """The weights file to use, the same rule for the CLI, the page and the API: registry.resolve (task
    None: either a colorizer or paired weights, the colorizer's default first)."""
    return resolve(task, weights, weights_dir, ranked)


def default_render_size(meta: dict | None = None) -> int:
    """The size the weights were trained at (what they do best at) when within the render range,
    else DEFAULT_RENDER_SIZE."""
    trained = (meta or {}).get("size")
    ok = isinstance(trained, int) and MIN_RENDER_SIZE <= trained <= MAX_RENDER_SIZE
    return trained if ok else DEFAULT_RENDER_SIZE


# ---- heads ---------------------------------------------------------------------------------

def head_of(meta: dict) -> str:
    """What the generator outputs: "ab" (2 channels; also files from before heads were recorded)
    or "classes" (one logit per ab bin)."""
    return meta.get("head") or "ab"


def bin_centers_of(meta: dict) -> "torch.Tensor | None":
    """(Q, 2) ab bin centers (CIELAB units) of classes weights; None for ab weights (torch is
    imported for classes weights only)."""
    if head_of(meta) != "classes":
        return None
    from . import color_classes

    return color_classes.bin_centers(float(meta.get("bin", color_classes.BIN)))


def out_channels(meta: dict) -> int:
    centers = bin_centers_of(meta)
    return 2 if centers is None else len(centers)


def in_channels(meta: dict) -> int:
    """1 (L) for colorizers; 4 for hints weights (L and hints.py's map: a, b, mask)."""
    return int(meta.get("in_channels", 1))


def check_temperature(temperature: float) -> float:
    """A temperature asked for, within limits.py's range (ValueError otherwise)."""
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature {temperature:g} is outside {MIN_TEMPERATURE:g}..{MAX_TEMPERATURE:g}")
    return float(temperature)


# ---- color strength: blending stage 2 with its stage-1 start ------------------------------

class ColorStrengthError(WeightsError):
    """A color strength below 1 that cannot be had: stage-1 weights, no stage-1 partner found
    (partner_missing: naming one by hand would help), or one that does not fit."""

    def __init__(self, message: str, partner_missing: bool = False):
        super().__init__(message)
        self.partner_missing = partner_missing


def check_color_strength(strength: float) -> float:
    if not MIN_COLOR_STRENGTH <= strength <= MAX_COLOR_STRENGTH:
        raise ColorStrengthError(f"color strength {strength:g} is outside "
                                 f"{MIN_COLOR_STRENGTH:g}..{MAX_COLOR_STRENGTH:g}")
    return float(strength)


def partner_folders(path: str | Path, weights_dir: str | Path | None = None) -> list[Path]:
    """Where a stage-2 file's partner is looked for: its own folder, then weights_folder()."""
    folders = [Path(path).parent, weights_folder(weights_dir)]
    return [f for i, f in enumerate(folders) if f.resolve() not in [g.resolve() for g in folders[:i]]]


def find_partner(path: str | Path, meta: dict, weights_dir: str | Path | None = None) -> Path | None:
    """The stage-1 weights a stage-2 file started from: the file in partner_folders() whose metadata
    matches meta["init"] on date, photos seen and backbone. None for stage-1 weights, files that
    recorded no start, or when no file matches."""
    init = meta.get("init")
    if meta.get("stage") != "gan" or not isinstance(init, dict):
        return None
    return find_described(init, partner_folders(path, weights_dir), exclude=path)


def no_partner_message(path: str | Path, meta: dict, strength: float | None = None,
                       weights_dir: str | Path | None = None) -> str:
    """Why a color strength below 1 cannot be had for these weights, naming the missing file
    (strength None: said of color strength in general, as the page does)."""
    if meta.get("stage") != "gan":
        what = {"pretrain": "stage-1", AVERAGED_STAGE: "averaged"}.get(meta.get("stage"),
                                                                       f"stage {meta.get('stage')!r}")
        return (f"{path}: color strength{'' if strength is None else f' {strength:g}'} needs stage-2 weights "
                f"(it blends them with the stage-1 weights they started from); these are {what} weights"
                + ("" if strength is None else " (use color strength 1)"))
    strength = "" if strength is None else f" {strength:g}"
    init = meta.get("init")
    if not isinstance(init, dict):
        return (f"{path}: color strength{strength} needs the stage-1 weights these started from, and their "
                f"metadata does not say which")
    name = Path(str((meta.get("config") or {}).get("init") or "stage-1 weights")).name
    seen = init.get("images_seen")
    seen = f"{seen:,} photos seen" if isinstance(seen, int) else "photos seen unknown"
    where = " or ".join(f"{f}/" for f in partner_folders(path, weights_dir))
    return (f"{path}: color strength{strength} needs the stage-1 weights it started from "
            f"({name} of {init.get('date')}, {seen}), not found in {where}")


def blend_states(base: dict, top: dict, strength: float) -> dict:
    """(1 - s) * base + s * top for every floating-point tensor (BatchNorm running stats too);
    integer buffers (num_batches_tracked) from top. ColorStrengthError when they do not fit."""
    if base.keys() != top.keys():
        raise ColorStrengthError(f"the two weights have different layers ({len(base)} and {len(top)} tensors)")
    out = {}
    for k, t in top.items():
        b = base[k]
        if b.shape != t.shape:
            raise ColorStrengthError(f"the two weights differ in {k}: {tuple(b.shape)} and {tuple(t.shape)}")
        out[k] = (1.0 - strength) * b.float() + strength * t.float() if t.is_floating_point() else t
    return out


def _partner(path: Path, meta: dict, strength: float, base_weights, weights_dir) -> Path:
    """The stage-1 file to blend with at strength (< 1): base_weights, else find_partner;
    ColorStrengthError when there is none."""
    if meta.get("stage") != "gan":
        raise ColorStrengthError(no_partner_message(path, meta, strength, weights_dir))
    base = Path(base_weights) if base_weights else find_partner(path, meta, weights_dir)
    if base is None:
        raise ColorStrengthError(no_partner_message(path, meta, strength, weights_dir), partner_missing=True)
    return existing_weights(base)


def _blended(path: Path, state: dict, meta: dict, strength: float, base: Path) -> tuple[dict, dict]:
    """state blended with its stage-1 partner base at strength (< 1), and meta saying so."""
    base_state, base_meta = load_weights(base)
    if head_of(base_meta) != head_of(meta):
        raise ColorStrengthError(f"{path} ({head_of(meta)} head) and {base} ({head_of(base_meta)} head) "
                                 f"cannot be blended: their generators predict different things")
    try:
        state = blend_states(base_state, state, strength)
    except ColorStrengthError as err:
        raise ColorStrengthError(f"{path} and {base} cannot be blended: {err}") from None
    return state, dict(meta, color_strength=strength, base_weights=str(base))


def blend_weights(path: str | Path, strength: float, out: str | Path, base_weights: str | Path | None = None,
                  weights_dir: str | Path | None = None) -> Path:
    """Write stage-2 weights blended with their stage-1 start at strength (`weights blend`): a file of its
    own whose card records the strength and the partner, loaded as it is (no partner needed then)."""
    from .checkpoint import save_weights

    path = Path(path)
    meta = read_meta(path)
    require_task(path, meta, COLORIZE)
    if meta.get("color_strength") is not None:
        raise ColorStrengthError(f"{path}: already blended (color strength {meta['color_strength']:g}); blend the "
                                 f"stage-2 weights it was made from")
    base = _partner(path, meta, check_color_strength(strength), base_weights, weights_dir)
    state, meta = _blended(path, load_weights(path)[0], meta, strength, base)
    return save_weights(out, state, dict(meta, base_weights=base.name), half=meta.get("dtype") == "float16")


def render_shape(h: int, w: int, render_size: int, max_ratio: float = 3.0) -> tuple[int, int]:
    """Short side = render_size, aspect kept (long side capped at max_ratio x), both multiples of 32."""
    short, long_ = min(h, w), max(h, w)
    ratio = min(long_ / short, max_ratio)
    s = max(32, round(render_size / 32) * 32)
    l = max(32, round(s * ratio / 32) * 32)
    return (s, l) if h <= w else (l, s)



@dataclass
class Colorizer:
    """A loaded generator ready to colorize PIL images of any size."""

    net: Callable[[np.ndarray], np.ndarray]  # device.TorchNet or onnx_backend.OnnxNet: L batch -> output
    meta: dict
    render_size: int = 256
    temperature: float | None = None  # classes head: the annealed mean's; None for ab weights
    centers: "torch.Tensor | None" = None  # classes head: (Q, 2) ab bin centers, CIELAB units

    @property
    def head(self) -> str:
        return head_of(self.meta)

    @property
    def color_strength(self) -> float:
        return self.meta.get("color_strength", 1.0)

    @property
    def backend(self) -> str:
        return self.net.backend

    @property
    def device(self) -> str:
        return self.net.device

    @property
    def precision(self) -> str:
        return self.net.precision

    @property
    def generator(self) -> "torch.nn.Module | None":
        """The torch backend's generator; None with onnx."""
        return getattr(self.net, "generator", None)

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto", precision: str = "auto",
             render_size: int | None = None, weights_dir: str | Path | None = None,
             color_strength: float | None = None, base_weights: str | Path | None = None,
             temperature: float | None = None, backend: str = "torch", hints: bool = False,
             threads: int | None = None) -> "Colorizer":
        """weights None: resolve_weights (then $COLORIZER_WEIGHTS, then the best in weights_dir).
        render_size None: default_render_size (the size the weights were trained at).

        color_strength in [0, 1]: blend stage-2 weights with their stage-1 partner (find_partner,
        or base_weights when given). 1 loads the weights as they are. None: DEFAULT_COLOR_STRENGTH
        for weights that have a partner, 1 for the others. A strength below 1 for weights without
        a partner raises ColorStrengthError naming the file that is missing.

        temperature: the annealed mean's for classes weights (None: the one they were trained
        with); ignored for ab weights (the `temperature` attribute stays None: callers may say so).

        backend: "torch", "onnx" (onnxruntime, CPU) or "auto" (backend.resolve_backend). A .onnx
        weights file (export-onnx) always runs on onnx, with the color strength baked into it.
        With onnx and an export already cached, torch is not imported (weights are read by
        checkpoint.read_meta alone).

        hints: the user gives color hints: weights None picks the best hints weights in the folder
        (never chosen otherwise), and weights that take no hints are a WeightsError naming them.

        threads: the onnx backend's CPU threads (None: one per core); batch's workers each take their share.
        """
        path = hints_weights_path(weights, weights_dir) if hints else resolve_weights(weights, weights_dir, task=COLORIZE)
        if path.suffix.lower() == ".onnx":
            net, meta = _onnx_file(path, color_strength, base_weights)
        else:
            meta = read_meta(path)
            if task_of(meta) != HINTS:  # hints weights colorize too (no hints: on their own)
                require_task(path, meta, COLORIZE)  # paired weights: translate.py
            strength, found = color_strength, None
            if meta.get("color_strength") is not None:  # written blended (`weights blend`): used as it is
                if strength not in (None, 1.0):
                    raise ColorStrengthError(f"{path}: already blended at color strength {meta['color_strength']:g}")
                strength = 1.0
            if strength is None:  # the default, where it can be had
                strength = DEFAULT_COLOR_STRENGTH
                if strength < 1.0 and base_weights is None:
                    found = find_partner(path, meta, weights_dir)
                    strength = strength if found is not None else 1.0
            base = (_partner(path, meta, strength, base_weights or found, weights_dir)
                    if check_color_strength(strength) < 1.0 else None)
            if base is not None:
                meta = dict(meta, color_strength=strength, base_weights=str(base))

            # averaged weights: their members, found now, so that a missing one is named on every backend
            # (a packed file holds them: averaged.pack_weights)
            members = (find_members(path, meta, partner_folders(path, weights_dir))
                       if is_averaged(meta) and not is_packed(meta) else [])

            def make_generator() -> "torch.nn.Module":
                if is_averaged(meta):
                    return _averaged(members, meta, path)
                state, _ = load_weights(path)
                if base is not None:
                    state = _blended(path, state, meta, strength, base)[0]
                return _generator(path, meta, state)

            if resolve_backend(backend, device) == "onnx":
                net = cached_net(path, base, strength, make_generator, meta, members, threads=threads)
            else:
                net = _torch_net(make_generator(), device, precision)
        centers = bin_centers_of(meta)
        if centers is None:
            temperature = None
        elif temperature is None:
            from .color_classes import TEMPERATURE  # classes weights only (color_classes imports torch)

            temperature = float(meta.get("temperature", TEMPERATURE))
        else:
            temperature = check_temperature(temperature)
        meta = dict(meta, path=str(path))
        model = cls(net, meta, render_size or default_render_size(meta), temperature, centers)
        if hints and not model.takes_hints:
            raise WeightsError(no_hints_message(path))
        return model

    # ---- one batch through the network --------------------------------------------------
    @property
    def takes_hints(self) -> bool:
        """Weights trained with color hints (--task hints): L and a hint map in."""
        return in_channels(self.meta) > 1

    def hint_map(self, size: tuple[int, int], shape: tuple[int, int], given) -> np.ndarray | None:
        """A person's hints (hints.UserHint, in the photo's own pixels) on a photo of size (width,
        height) -> the (1, 3, h, w) map at the render shape (h, w); None when there are none. Hints
        outside the photo or too many are a hints.HintError; weights without hint input a WeightsError."""
        if not given:
            return None
        from .hints import check_hints, user_hint_map

        if not self.takes_hints:
            raise WeightsError(no_hints_message(self.meta.get("path", "these weights")))
        return user_hint_map(check_hints(list(given), *size), size, shape)

    def predict_ab(self, L: np.ndarray, hint_map: np.ndarray | None = None) -> np.ndarray:
        """Normalised L (B, 1, h, w) at render size -> normalised ab (B, 2, h, w), float32. Hints weights
        also take hint_map (B, 3, h, w: hints.py), all zeros (no hints: automatic) when not given."""
        if hint_map is not None and not self.takes_hints:
            raise WeightsError(no_hints_message(self.meta.get("path", "these weights")))
        if self.takes_hints:
            if hint_map is None:
                hint_map = np.zeros((L.shape[0], in_channels(self.meta) - 1, *L.shape[2:]), np.float32)
            gain = float(self.meta.get("hint_gain", 1.0))  # hints.GAIN, as the weights were trained
            L = np.concatenate([L, hint_map.astype(np.float32) * gain], 1)
        out = self.net(np.ascontiguousarray(L, dtype=np.float32))
        if self.centers is not None:  # logits per ab bin -> ab (CIELAB units) -> normalised
            import torch

            from .color_classes import decode

            out = decode(torch.from_numpy(out), self.centers, self.temperature).numpy()
        return np.clip(out, -1.0, 1.0, dtype=np.float32)

    # ---- one photo: prepare, predict, finish --------------------------------------------
    def prepare(self, image: Image.Image, render_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """RGB or gray PIL image -> (its normalised L (H, W), L at render size (1, 1, h, w)).
        Photos whose second arrays have one shape can be batched through predict_ab.

        The render-size L is the lightness of the photo resized (Pillow's antialiased bilinear), as
        training makes its inputs from resized photos."""
        w, h = image.size
        rh, rw = render_shape(h, w, render_size or self.render_size)
        small = _rgb_or_gray(image).resize((rw, rh), Image.BILINEAR, reducing_gap=3.0)
        return lightness(image), photo_lightness(np.asarray(small))[None, None]

    def finish(self, L_full: np.ndarray, ab: np.ndarray, saturation: float = 1.0) -> Image.Image:
        """L (H, W) and ab predicted at render size ((1,) 2, h, w) -> colorized RGB PIL image, H x W."""
        return compose(L_full, ab, saturation)

    def colorize(self, image: Image.Image, render_size: int | None = None, saturation: float = 1.0,
                 hints=None) -> Image.Image:
        """RGB or gray PIL image -> colorized RGB PIL image of the same size; hints: a person's known
        colors (hints.UserHint list, in the image's pixels; hints weights only)."""
        L_full, L_small = self.prepare(image, render_size)
        if not hints:
            return self.finish(L_full, self.predict_ab(L_small), saturation)
        hint_map = self.hint_map(image.size, L_small.shape[-2:], hints)
        return self.finish(L_full, self.predict_ab(L_small, hint_map), saturation)


def _torch_net(generator, device: str, precision: str):
    """The generator on device (pick_device), as a device.TorchNet; on the CPU in bf16 its weights are cast
    (~1.2x faster than autocast's casts: README)."""
    import torch

    from .device import TorchNet, pick_device, prepare, resolve_precision

    dev = pick_device(device)
    precision = resolve_precision(precision, dev)
    generator = prepare(generator, dev).eval()
    if precision == "bf16" and dev.type == "cpu":
        generator = generator.to(torch.bfloat16)
    return TorchNet(generator, dev, precision)


def _rgb_or_gray(image: Image.Image) -> Image.Image:
    """image as it is when its mode is 8-bit RGB or gray, else as RGB (as Pillow converts)."""
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def lightness(image: Image.Image, band_pixels: int = BAND_PIXELS) -> np.ndarray:
    """PIL image (any mode) -> its normalised L (H, W), converted in row bands: the result is the only
    full-size array made."""
    w, h = image.size
    L = np.empty((h, w), np.float32)
    for y0, y1 in row_bands(h, w, band_pixels):
        L[y0:y1] = photo_lightness(np.asarray(_rgb_or_gray(image.crop((0, y0, w, y1)))))
    return L


def compose(L_full: np.ndarray, ab: np.ndarray, saturation: float = 1.0,
            band_pixels: int = BAND_PIXELS) -> Image.Image:
    """Normalised L (H, W) and ab at any size ((1,) 2, h, w) -> 8-bit RGB PIL image, H x W: ab upsampled
    bilinearly (as a whole-photo interpolation would), times saturation, clamped to +-1.2, laid on L and
    turned to RGB band by band, each band pasted into the result as soon as it is made."""
    h, w = L_full.shape[-2:]
    wide = widen(ab.reshape(ab.shape[-3:]), w)  # (2, h_ab, W): small
    out = Image.new("RGB", (w, h))
    for y0, y1 in row_bands(h, w, band_pixels):
        band = upsample_rows(wide, h, y0, y1)
        if saturation != 1.0:
            band *= saturation
        np.clip(band, -1.2, 1.2, out=band)
        out.paste(Image.fromarray(photo_rgb(L_full[y0:y1], band)), (0, y0))
    return out


def _generator(path: Path, meta: dict, state: dict) -> "torch.nn.Module":
    """The torch generator the weights describe, with their state loaded (WeightsError if it does not fit)."""
    from .models import build_generator

    generator = build_generator(meta.get("backbone", "resnet18"), "none", meta.get("size", 256),
                                n_in=in_channels(meta), n_out=out_channels(meta))
    try:
        generator.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"{path}: weights do not fit a {meta.get('backbone')} generator with a "
                           f"{head_of(meta)} head ({err})") from None
    return generator


def _averaged(members: list[Path], meta: dict, path: Path | None = None) -> "torch.nn.Module":
    """The generator of averaged weights (averaged.py): its member files (or, packed, the members inside
    it), each loaded as it was trained; routed weights add their probe (the file's own tensors) on one
    member's body."""
    from .averaged import packed_members
    from .models import AveragedGenerator, PhotoRouter, body_of

    own = load_weights(path)[0] if is_packed(meta) or meta.get("router") else {}  # read once
    sources = packed_members(path, own, meta) if is_packed(meta) else [(m, *load_weights(m)) for m in members]
    networks = [_generator(name, member_meta, state) for name, state, member_meta in sources]
    router = None
    if meta.get("router"):
        probe = {k.split(".", 1)[1]: v for k, v in own.items() if k.startswith("router.")}
        router = PhotoRouter(body_of(networks[int(meta["router"]["body_member"])]), **probe)
    return AveragedGenerator(networks, meta.get("scale", 1.0), meta.get("mixes") or (), router)


def _onnx_file(path: Path, color_strength: float | None, base_weights) -> tuple[OnnxNet, dict]:
    """A .onnx weights file (export-onnx) and its metadata; its color strength was fixed at export."""
    try:
        net = OnnxNet(path)
    except OnnxError as err:
        raise WeightsError(str(err)) from None
    baked = float(net.meta.get("color_strength", 1.0))
    if base_weights is not None or (color_strength is not None and abs(color_strength - baked) > 1e-9):
        raise ColorStrengthError(f"{path}: its color strength was fixed at export ({baked:g}); export the .pt "
                                 f"weights again with `export-onnx --color-strength S`")
    return net, dict(net.meta, onnx=str(path))


def export_onnx(weights: str | Path, dest: str | Path, color_strength: float | None = None,
                base_weights: str | Path | None = None, weights_dir: str | Path | None = None) -> Colorizer:
    """Write the weights (blended at color strength, as Colorizer.load chooses it) as an ONNX file with
    their metadata; returns the torch Colorizer it was made from."""
    from .onnx_backend import export

    model = Colorizer.load(weights, device="cpu", precision="fp32", weights_dir=weights_dir,
                           color_strength=color_strength, base_weights=base_weights, backend="torch")
    meta = {k: v for k, v in model.meta.items() if k != "path"}
    export(model.generator, dict(meta, source=model.meta["path"]), dest)
    return model


def gray_baseline(image: Image.Image) -> Image.Image:
    """The photo with its color removed (ab = 0): the baseline every colorizer must beat."""
    return compose(lightness(image), np.zeros((2, 1, 1), np.float32))
