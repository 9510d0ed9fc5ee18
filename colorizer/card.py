"""What a weights file is: its card, a typed record of the metadata every weights file carries.

Training, `average` and `weights blend|set` write the metadata (checkpoint.make_meta and, for the
commands that change a file, `rewrite` here); everything that asks what a file is reads it through
`read_card`, which needs no torch (checkpoint.read_meta). Files from before the card load as they
are: a field their metadata lacks takes the value those files always meant (a colorizer, an ab head,
scale 1, no recorded color strength).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import (CLASSIFY, COLORIZE, HINTS, PAIRED, FORMAT, WeightsError, _load, atomic_save, read_meta,
                         task_of)

# What a user is told a file does, by its task
DOES = {COLORIZE: "colorizes", HINTS: "colorizes with color hints", PAIRED: "translates images (pix2pix)",
        CLASSIFY: "classifies jewelry"}


@dataclass(frozen=True)
class WeightsCard:
    """One weights file's record. `meta` keeps every key as written (training's config, validation
    history ...), for the few readers that need more than the card's fields."""

    path: Path | None
    task: str  # colorize, hints, paired, classify (checkpoint.task_of)
    stage: str | None  # pretrain, gan, average (averaged.py), None for the classifier
    body: str | None  # the network's body: resnet18, efficientnet_lite0, unet 32 filters, "a + b" for averages
    size: int | None  # training crop size in pixels: the default render size
    head: str | None  # colorizers: "ab" or "classes"; None for other tasks
    direction: str | None = None  # paired: AtoB or BtoA (which side of a pair is the input)
    members: tuple[str, ...] = ()  # averaged: the files whose mean it is
    scale: float = 1.0  # averaged: the factor on the mean
    routed: bool = False  # averaged: two mixes of the members, one picked per photo by a probe
    packed: bool = False  # averaged: the members' networks are inside the file (`weights pack`)
    color_strength: float | None = None  # stage 2 written blended with its stage-1 start (`weights blend`)
    temperature: float | None = None  # classes head: the annealed mean's temperature
    data: str | None = None  # what it was trained on, in words
    data_mix: tuple = ()  # the shares of each training folder, where given by share
    images_seen: int = 0  # photos seen in training, over both stages (and all members of an average)
    date: str | None = None
    dtype: str | None = None  # float32 or float16 as stored
    scores: dict = field(default_factory=dict)  # measured on val/ by the commands that wrote it
    meta: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_meta(cls, meta: dict, path: str | Path | None = None) -> "WeightsCard":
        task = task_of(meta)
        body = meta.get("backbone")
        if task == PAIRED and meta.get("generator") == "unet":
            body = f"unet {meta['filters']} filters" if meta.get("filters") else "unet"
        head = (meta.get("head") or "ab") if task in (COLORIZE, HINTS) else None
        members = tuple(str(m.get("file")) for m in meta.get("members") or [])
        temperature = meta.get("temperature") if head == "classes" else None
        direction = meta.get("direction") if task == PAIRED else None
        return cls(path=Path(path) if path is not None else None, task=task, stage=meta.get("stage"), body=body,
                   size=meta.get("size"), head=head, direction=direction, members=members,
                   scale=float(meta.get("scale") or 1.0),
                   routed=bool(meta.get("router")), packed=bool(meta.get("packed")),
                   color_strength=meta.get("color_strength"), temperature=temperature,
                   data=meta.get("data_note") or meta.get("data"), data_mix=tuple(meta.get("data_mix") or ()),
                   images_seen=int(meta.get("images_seen") or 0), date=meta.get("date"), dtype=meta.get("dtype"),
                   scores=dict(meta.get("scores") or {}), meta=dict(meta))

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "?"

    def summary(self) -> str:
        """What it is, in words: 'colorizes: 2 networks averaged (a.pt + b.pt) x1.15, 128 px, 875k photos seen'."""
        what = []
        if self.members:
            what.append(f"{len(self.members)} networks averaged ({' + '.join(self.members)})"
                        + (" in two mixes, routed per photo" if self.routed
                           else f" x{self.scale:g}" if self.scale != 1 else "")
                        + (", packed inside the file" if self.packed else ""))
        elif self.body:
            what.append(str(self.body))
        if self.stage == "gan":
            what.append("GAN-tuned" + (f", blended at color strength {self.color_strength:g}"
                                       if self.color_strength is not None else ""))
        if self.head == "classes":
            what.append("colors as classes" + (f", temperature {self.temperature:g}"
                                               if self.temperature is not None else ""))
        if self.size:
            what.append(f"{self.size} px")
        if self.images_seen:
            what.append(f"{self.images_seen:,} photos seen")
        if self.date:
            what.append(str(self.date).split(" ")[0])
        return f"{DOES.get(self.task, self.task)}: {', '.join(what)}"

    def lines(self) -> list[str]:
        """Every field a user may ask about (`python -m colorizer weights show`)."""
        out = [f"{self.name}: {self.summary()}"]
        for key in ("task", "stage", "body", "size", "head", "direction", "members", "scale", "color_strength",
                    "temperature", "data", "data_mix", "images_seen", "date", "dtype", "scores"):
            value = getattr(self, key)
            if value in (None, (), {}) or (key in ("scale", "images_seen") and not self.members and value in (0, 1)):
                continue
            if key == "data_mix":
                value = ", ".join(f"{m.get('name')} {m.get('share', 0):.0%}" for m in value if isinstance(m, dict))
            elif key == "members":
                value = ", ".join(value)
            out.append(f"  {key}: {value}")
        return out


def read_card(path: str | Path) -> WeightsCard:
    """The card of a weights file (WeightsError when it is missing or not one of ours); no torch needed."""
    return WeightsCard.from_meta(read_meta(path), path)


def rewrite(path: str | Path, out: str | Path | None = None, state: dict | None = None, **changes) -> Path:
    """Write path's weights again (to out, else in place, atomically) with `changes` in their metadata and,
    when given, `state` as their tensors. The commands that make a research knob a property of a file
    (`weights blend`, `weights set`) write through here."""
    obj = _load(path, (FORMAT,))
    if state is not None:
        obj["generator"] = state
    obj["meta"] = dict(obj["meta"], **changes)
    return atomic_save(obj, Path(out) if out is not None else Path(path))


__all__ = ["DOES", "WeightsCard", "WeightsError", "read_card", "rewrite"]
