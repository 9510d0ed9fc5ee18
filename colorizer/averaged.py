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
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .checkpoint import (COLORIZE, IDENTITY_KEYS, WeightsError, find_described, make_meta, read_meta,
                         require_task, save_weights)

STAGE = "average"


def is_averaged(meta: dict) -> bool:
    return meta.get("stage") == STAGE


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
