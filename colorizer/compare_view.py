"""A before/after slider for the page: the input and the result stacked, a handle that uncovers
one over the other, as HTML with its own few lines of script (no CDN, so it works offline).

The page shows it with `st.iframe` (an iframe of its own). Dragging or
clicking anywhere on the picture moves the handle; the arrow keys move it when it has the focus.
"""
from __future__ import annotations

import base64
import html
import io

from PIL import Image

SHOW_SIDE = 1200  # long side of the images put in the page (display only; downloads keep full size)
MAX_WIDTH = 760   # the slider's width on the page at most, in CSS px
START = 50        # where the handle starts, in percent of the width from the left

_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"><style>
html,body{{margin:0;padding:0;background:transparent;font-family:sans-serif}}
.cmp{{position:relative;width:100%;max-width:{width}px;aspect-ratio:{w}/{h};margin:0 auto;
  overflow:hidden;user-select:none;border-radius:4px}}
.cmp img{{position:absolute;inset:0;width:100%;height:100%;display:block;pointer-events:none}}
.cmp .before{{clip-path:inset(0 {right}% 0 0)}}
.cmp .bar{{position:absolute;top:0;bottom:0;left:{start}%;width:2px;margin-left:-1px;background:#fff;
  box-shadow:0 0 4px rgba(0,0,0,.6);pointer-events:none}}
.cmp .knob{{position:absolute;top:50%;left:50%;width:30px;height:30px;margin:-15px 0 0 -15px;border-radius:50%;
  background:#fff;box-shadow:0 0 4px rgba(0,0,0,.6);font-size:14px;line-height:30px;text-align:center;color:#444}}
.cmp input{{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:ew-resize}}
.cmp .label{{position:absolute;top:8px;padding:2px 8px;border-radius:3px;background:rgba(0,0,0,.55);
  color:#fff;font-size:13px;pointer-events:none}}
.cmp .left{{left:8px}} .cmp .right{{right:8px}}
</style></head><body>
<div class="cmp" data-testid="compare">
  <img class="after" alt="{after_label}" src="{after_src}">
  <img class="before" alt="{before_label}" src="{before_src}">
  <div class="bar"><div class="knob">&#8596;</div></div>
  <span class="label left">{before_label}</span><span class="label right">{after_label}</span>
  <input type="range" min="0" max="100" step="0.5" value="{start}" aria-label="{before_label} / {after_label}">
</div>
<script>
const box = document.querySelector('.cmp'), range = box.querySelector('input');
const before = box.querySelector('.before'), bar = box.querySelector('.bar');
function show() {{
  const v = Number(range.value);
  before.style.clipPath = 'inset(0 ' + (100 - v) + '% 0 0)';
  bar.style.left = v + '%';
  box.dataset.position = String(v);
}}
range.addEventListener('input', show);
show();
</script></body></html>"""


def _data_url(image: Image.Image, side: int) -> str:
    """The image (shrunk to side on its long side) as a JPEG data URL."""
    small = image.convert("RGB")
    if max(small.size) > side:
        small = small.copy()
        small.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def slider_html(before: Image.Image, after: Image.Image, before_label: str = "Input",
                after_label: str = "Colorized", max_width: int = MAX_WIDTH, side: int = SHOW_SIDE,
                start: float = START) -> tuple[str, int]:
    """(HTML of the slider, its height in px at full width) for two images of one size (the
    result has the input's size; if not, the after image's shape sets the frame)."""
    if not 0 <= start <= 100:
        raise ValueError(f"start must be between 0 and 100 (percent), got {start}")
    w, h = after.size
    width = min(max_width, w)
    height = round(width * h / w)
    page = _TEMPLATE.format(
        width=width, w=w, h=h, start=start, right=100 - start,
        before_src=_data_url(before, side), after_src=_data_url(after, side),
        before_label=html.escape(before_label), after_label=html.escape(after_label))
    return page, height
