"""Averaged weights: several colorizers' colors averaged, named by one small file
(`python -m colorizer average A.pt B.pt --scale S --out C.pt`).

Networks of different families err in different places, so the mean of what they predict scores
above each of them on val/ (docs/quality.md, "Averaged weights"). An averaged file holds no tensors
of its own: its metadata names each member (file name, date, photos seen, backbone), which is
looked for beside it and then in the weights folder, as a stage-2 file's color-strength partner is,
and `scale`, the factor the mean is multiplied by (a mean of several models is duller than each).
It loads as one generator (models.AveragedGenerator), so every backend and precision, the ONNX export, the
page and the API take it as they take any weights. Routed weights (`route_weights`) hold two mixes of their
members and a small probe (models.PhotoRouter) that picks one per photo: people photos from one, the rest
from the other. Members are ab heads as they were trained (stage
2 at its full strength); classes heads, paired weights and other averaged files are refused.
A packed file (`pack_weights`, `weights pack`) is the same with its members' networks inside it (int8
weights): one self-contained file to ship, copy or serve, that never looks for other files.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .checkpoint import (COLORIZE, FORMAT, IDENTITY_KEYS, WeightsError, atomic_save, find_described, load_weights,
                         make_meta, read_meta, require_task, save_weights)

STAGE = "average"


def is_averaged(meta: dict) -> bool:
    return meta.get("stage") == STAGE


def is_packed(meta: dict) -> bool:
    """Averaged weights that hold their members' networks (pack_weights)."""
    return is_averaged(meta) and bool(meta.get("packed"))


def _member_meta(path: Path) -> dict:
    meta = read_meta(path)
    require_task(path, meta, COLORIZE)
    if is_averaged(meta):
        raise WeightsError(f"{path}: already averaged weights; average its members instead")
    if (meta.get("head") or "ab") != "ab":
        raise WeightsError(f"{path}: a {meta.get('head')} head; only weights that predict ab can be averaged")
    return meta


def average_weights(paths: Sequence[str | Path], out: str | Path, scale: float = 1.0) -> Path:
    """Write the averaged file naming the weights in paths (keep them beside it, or in the weights
    folder). Its photos seen are the members' together, so checkpoint.ranked_weights ranks it above
    each of them."""
    if len(paths) < 2:
        raise WeightsError("averaging needs at least two weights files")
    if not 0 < scale <= 2:
        raise WeightsError(f"scale {scale:g} is outside (0, 2]")
    members = []
    for path in (Path(p) for p in paths):
        meta = _member_meta(path)
        members.append(dict({k: meta.get(k) for k in (*IDENTITY_KEYS, "stage", "size")}, file=path.name))
    meta = make_meta(task=COLORIZE, stage=STAGE, head="ab", scale=float(scale), members=members,
                     backbone=" + ".join(str(m["backbone"]) for m in members), size=members[0]["size"],
                     images_seen=sum(int(m["images_seen"] or 0) for m in members), epoch=None,
                     data="its members' (" + ", ".join(m["file"] for m in members) + ")")
    return save_weights(out, {}, meta)


def route_weights(paths: Sequence[str | Path], mixes: Sequence[dict], router: dict, body_member: int,
                  out: str | Path, note: str = "", scores: dict | None = None) -> Path:
    """Write routed averaged weights: the member files in paths, two mixes of them ({"weights": one per
    member, "scale"}), the first for most photos and the second where the router (tensors "weight",
    "bias", "mean", "std" of a linear probe on member body_member's pooled body: models.PhotoRouter)
    says so. Like an average, it holds no network of its own: only the probe's numbers."""
    if len(mixes) != 2 or any(len(m["weights"]) != len(paths) or m["scale"] <= 0 for m in mixes):
        raise WeightsError("routing needs two mixes, each with one weight per member and a scale > 0")
    members = []
    for path in (Path(p) for p in paths):
        meta = _member_meta(path)
        members.append(dict({k: meta.get(k) for k in (*IDENTITY_KEYS, "stage", "size")}, file=path.name))
    mixes = [{"weights": [float(w) for w in m["weights"]], "scale": float(m["scale"])} for m in mixes]
    meta = make_meta(task=COLORIZE, stage=STAGE, head="ab", scale=mixes[0]["scale"], members=members, mixes=mixes,
                     router={"body_member": int(body_member), "features": "body mean- and max-pooled, standardised",
                             "note": note},
                     backbone=" + ".join(str(m["backbone"]) for m in members), size=members[0]["size"],
                     images_seen=sum(int(m["images_seen"] or 0) for m in members), epoch=None,
                     data="its members' (" + ", ".join(m["file"] for m in members) + ")", scores=scores or {})
    return save_weights(out, {f"router.{k}": v for k, v in router.items()}, meta)


def find_members(path: str | Path, meta: dict, folders: Sequence[Path]) -> list[Path]:
    """The member files an averaged file names, each looked for in folders by its name, then by its
    metadata (a renamed copy); WeightsError naming each one that is missing."""
    found, missing = [], []
    for member in meta.get("members") or []:
        hit = find_described(member, folders, exclude=path, name=str(member.get("file")))
        if hit is None:
            seen = member.get("images_seen")
            missing.append(f"{member.get('file')} ({member.get('backbone')} of {member.get('date')}, "
                           f"{seen:,} photos seen)" if isinstance(seen, int) else str(member.get("file")))
        found.append(hit)
    if missing:
        where = " or ".join(f"{f}/" for f in folders)
        raise WeightsError(f"{path}: averaged weights whose member{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} not in {where}")
    if len(found) < 2:
        raise WeightsError(f"{path}: averaged weights that name fewer than two members")
    return found


def _int8(w):
    """A weight tensor -> (int8 tensor, float32 scale per output channel): symmetric, weights only."""
    import torch

    scale = w.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True).clamp_min(1e-12) / 127.0
    return (w / scale).round().clamp_(-127, 127).to(torch.int8), scale.float()


def pack_weights(path: str | Path, out: str | Path, folders: Sequence[Path],
                 int8: Sequence[int] | None = None) -> tuple[Path, list[Path]]:
    """Write averaged or routed weights (path, whose member files are looked for in folders: find_members)
    as one file that holds the members' networks too, under "member<i>.", with each member's metadata
    in the file's "member_meta". In the members numbered in int8 (None: all), convolution and linear
    weights are stored as int8 with a float32 scale per output channel (under "scale<i>."), except
    depthwise ones (few numbers, the most sensitive); everything else is float16. int8 is a quarter
    of float32 and moves the colors a little (docs/quality.md: the default packs only its largest
    member so). The probe's tensors stay float32 (a routing decision must not move). It loads as the
    unpacked file does and needs no other file. Returns the file written and the members packed."""
    meta = read_meta(path)
    if not is_averaged(meta) or is_packed(meta):
        raise WeightsError(f"{path}: {'already packed' if is_packed(meta) else 'not averaged weights'}; nothing to pack")
    members = find_members(path, meta, folders)
    state, meta = load_weights(path)
    metas = []
    for i, member in enumerate(members):
        member_state, member_meta = load_weights(member)
        for k, v in member_state.items():
            if (int8 is None or i in int8) and v.is_floating_point() and v.dim() >= 2 and v.shape[1] > 1:
                state[f"member{i}.{k}"], state[f"scale{i}.{k}"] = _int8(v)
            else:
                state[f"member{i}.{k}"] = v.half() if v.is_floating_point() else v
        metas.append(member_meta)
    quantized = range(len(members)) if int8 is None else sorted(set(int8) & set(range(len(members))))
    meta = dict(meta, packed=True, member_meta=metas,
                dtype=f"float16, int8 weights in {', '.join(members[i].name for i in quantized) or 'none'}")
    return atomic_save({"format": FORMAT, "meta": meta, "generator": state}, out), members


def packed_members(path: str | Path, state: dict, meta: dict) -> list[tuple[Path, dict, dict]]:
    """(name, float32 state, metadata) of each member inside a packed file, from its tensors (load_weights)."""
    out = []
    for i, member_meta in enumerate(meta.get("member_meta") or []):
        prefix = f"member{i}."
        member_state = {}
        for k, v in state.items():
            if k.startswith(prefix):
                scale = state.get(f"scale{i}.{k[len(prefix):]}")
                member_state[k[len(prefix):]] = v.float() * scale if scale is not None else v
        if not member_state:
            raise WeightsError(f"{path}: packed weights without the tensors of member {i}")
        out.append((Path(path).with_name(f"{Path(path).name}[{meta['members'][i].get('file')}]"), member_state, member_meta))
    if len(out) < 2:
        raise WeightsError(f"{path}: packed weights that hold fewer than two members")
    return out
