"""What the tests share, as plain functions and constants: the repo's paths and photos, generated photos
(random, huge, hostile, drawn), tiny weights of every kind, stand-in models for the API, and clients
(the page under AppTest, a live uvicorn, a slow uploader). conftest.py makes fixtures of them; a test
imports from here, never from another test module.

Heavy imports (torch, fastai, streamlit, uvicorn) happen inside the functions that need them.
"""
from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_COLOR = ROOT / "examples" / "color"
EXAMPLES_BW = ROOT / "examples" / "bw"
APP = str(ROOT / "streamlit_app.py")
BW_PHOTO = ROOT / "examples" / "bw" / "1890Surfer.jpg"  # 618x409, real black-and-white
COLOR_PHOTO = ROOT / "examples" / "color" / "n07749582_lemon.jpg"


# ---- photos -------------------------------------------------------------------------------------

def random_color_image(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def copy_examples(dest: Path, n: int) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(EXAMPLES_BW.glob("*.jpg"))[:n]:
        out.append(Path(shutil.copy(src, dest / src.name)))
    return out


def small_jpeg() -> bytes:
    buf = io.BytesIO()
    random_color_image(48, 32).convert("L").save(buf, "JPEG")
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(w: int = 8000, h: int = 7000) -> bytes:
    """A valid one-color gray PNG of w x h, built row by row (~50 KB, never w*h bytes in memory)."""
    z = zlib.compressobj(9)
    row = bytes(w + 1)  # filter byte 0 + w black pixels
    idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


INFLATES = zlib.compress(b"A" * 3_000_000, 9)  # 3 MB of text in 3 KB: past PngImagePlugin.MAX_TEXT_CHUNK (1 MB)
BOMB_CHUNKS = {
    "zTXt": png_chunk(b"zTXt", b"Comment\x00\x00" + INFLATES),
    "iTXt": png_chunk(b"iTXt", b"Comment\x00\x01\x00\x00\x00" + INFLATES),  # compressed flag 1, method 0
    "iCCP": png_chunk(b"iCCP", b"icc\x00\x00" + INFLATES),
}


def png_with(chunk: bytes, before_pixels: bool, w: int = 16, h: int = 12) -> bytes:
    """A valid gray PNG with chunk before its image data (IDAT) or after it."""
    raw = b"".join(b"\x00" + bytes(range(w)) for _ in range(h))
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(raw))
    body = chunk + idat if before_pixels else idat + chunk
    return b"\x89PNG\r\n\x1a\n" + ihdr + body + png_chunk(b"IEND", b"")


def drawn_ring(size: int = 256) -> Image.Image:
    """A ring as a person draws it: a band seen in perspective and a stone on top, black lines on white."""
    im = Image.new("L", (size, size), 255)
    d = ImageDraw.Draw(im)
    s = size / 256
    d.ellipse([60 * s, 100 * s, 196 * s, 220 * s], outline=0, width=round(5 * s))
    d.ellipse([78 * s, 116 * s, 178 * s, 204 * s], outline=0, width=round(4 * s))
    d.polygon([(128 * s, 40 * s), (158 * s, 72 * s), (128 * s, 104 * s), (98 * s, 72 * s)], outline=0,
              width=round(4 * s))
    d.line([(98 * s, 72 * s), (158 * s, 72 * s)], fill=0, width=round(3 * s))
    return im


# ---- tiny weights (random init: tests never depend on shipped weights) ----------------------------

TINY_BODY = "efficientnet_lite0"  # the smallest body models.py builds: conftest's session-wide tiny_weights


def make_weights(folder: Path, name: str = "tiny.pt", stage: str = "pretrain", images_seen: int = 10,
                 backbone: str = "resnet18") -> Path:
    """A random 64 px generator on `backbone`, with the metadata training writes, fp16."""
    from colorizer.checkpoint import make_meta, save_weights
    from colorizer.models import build_generator

    g = build_generator(backbone, "none", 64)
    return save_weights(folder / name, g.state_dict(),
                        make_meta(stage=stage, backbone=backbone, size=64, images_seen=images_seen), half=True)


def tiny_generator(seed: int, n_out: int = 2):
    import torch

    from colorizer.models import build_generator

    torch.manual_seed(seed)
    return build_generator("resnet18", "none", 64, n_in=1, n_out=n_out)


def tiny_pair(folder: Path, stage1: str = "stage1.pt", stage2: str = "stage2.pt", decoy: bool = True) -> tuple:
    """A stage-1 file and a stage-2 file that records it as its start (meta["init"]), as training
    writes them; and a decoy stage-1 file (same photos seen, another date) that must not be picked."""
    import torch

    from colorizer.checkpoint import make_meta, save_weights

    folder.mkdir(parents=True, exist_ok=True)
    meta1 = make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=10, date="2025-01-01 10:00 UTC")
    p1 = save_weights(folder / stage1, tiny_generator(0).state_dict(), meta1, half=True)
    if decoy:
        save_weights(folder / "a_decoy.pt", tiny_generator(2).state_dict(),
                     dict(meta1, date="2025-01-01 09:00 UTC"), half=True)
    state2 = tiny_generator(1).state_dict()
    for k, v in state2.items():  # integer buffers must come from stage 2: make them differ
        if not v.is_floating_point():
            state2[k] = torch.full_like(v, 7)
    meta2 = make_meta(stage="gan", backbone="resnet18", size=64, images_seen=30, init=dict(meta1),
                      config={"init": f"weights/{stage1}"})
    p2 = save_weights(folder / stage2, state2, meta2, half=True)
    return p1, p2


PAIRED_SIZE, PAIRED_FILTERS = 32, 8  # a 5-downsampling U-Net of 8 filters: ~70k parameters


def tiny_paired(folder: Path, name: str = "sketch2photo.pt", images_seen: int = 10**6, seed: int = 0) -> Path:
    """Paired weights with the metadata training writes (colorizer.paired.task.Paired.meta), random init, fp16."""
    import torch

    from colorizer.checkpoint import make_meta, save_weights
    from colorizer.paired.task import Paired

    task = Paired("unet", "AtoB", PAIRED_SIZE, PAIRED_FILTERS)
    torch.manual_seed(seed)
    g = task.build_generator("resnet18", "none", PAIRED_SIZE)
    meta = make_meta(stage="gan", task="paired", backbone="resnet18", size=PAIRED_SIZE, images_seen=images_seen,
                     **task.meta())
    return save_weights(folder / name, g.state_dict(), meta, half=True)


def tiny_colorizer(render_size: int = 64):
    """A Colorizer around a two-layer random network: for what is measured around the network (memory,
    bands), where a real generator would only add seconds of loading (fastai)."""
    import torch

    from colorizer.device import TorchNet
    from colorizer.infer import Colorizer

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Tanh(), torch.nn.Conv2d(8, 2, 3, padding=1))
    return Colorizer(TorchNet(net.eval(), torch.device("cpu")), {}, render_size=render_size)


# ---- stand-in models for the API --------------------------------------------------------------------

class EchoModel:
    """A stand-in colorizer: the photo back as RGB, at once."""

    render_size = 32
    color_strength = 1.0
    takes_hints = False
    meta = {"stage": "pretrain"}

    def colorize(self, image: Image.Image, render_size=None, saturation=1.0, hints=None) -> Image.Image:
        return image.convert("RGB")


class EchoSketch:
    """Stand-ins for POST /sketch's classifier and translator: the drawing back as it came, a ring for sure."""

    render_size = 32

    def translate(self, image):
        return image.convert("RGB")

    def predict_one(self, image):
        from colorizer.classify import CLASSES
        from colorizer.classify.predict import Prediction

        return Prediction(CLASSES[0], 1.0, {c: float(i == 0) for i, c in enumerate(CLASSES)})


def echo_app(results_dir: Path, **overrides):
    """A keyed app whose colorizer and sketch models are the stand-ins above: (app, alice's key)."""
    from colorizer.serving.api import create_app
    from colorizer.serving.keys import KeyStore

    app = create_app(results_dir=results_dir, **overrides)
    model = EchoModel()
    app.state.model.get = lambda color_strength=None: model
    app.state.sketches.load = lambda: (EchoSketch(), EchoSketch())
    return app, KeyStore(app.state.config.db_path).add("alice")


# ---- clients --------------------------------------------------------------------------------------

def auth(key: str | None) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


def post(client, data: bytes | None, user_id: str | None = "alice", name: str = "photo.jpg", key: str | None = None,
         **fields):
    """POST /colorize with a photo and form fields."""
    form = {k: str(v) for k, v in fields.items()}
    if user_id is not None:
        form["user_id"] = user_id
    files = {"image": (name, data, "image/jpeg")} if data is not None else None
    headers = {"Authorization": f"Bearer {key}"} if key else None
    return client.post("/colorize", data=form, files=files, headers=headers)


def run_app(monkeypatch, folder: Path):
    """The page under streamlit's AppTest, its weights from folder alone; run once, no exception."""
    from streamlit.testing.v1 import AppTest

    from colorizer.infer import WEIGHTS_DIR_ENV, WEIGHTS_ENV

    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(folder))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)  # the folder alone decides here
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def served(media: dict, url: str) -> bytes:
    """The bytes the page handed to st.image / st.download_button for url (conftest's `media` records them)."""
    return media[url.rsplit("/", 1)[-1].split(".")[0]]


class LiveServer:
    """The app under a real uvicorn (the settings `python -m colorizer.serving` uses), in a thread, on a free port."""

    def __init__(self, app):
        import threading

        import uvicorn

        from colorizer.serving.__main__ import server_settings

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    **server_settings()))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def trickler(port: int, stop, key: str | None = None, length: int = 100_000):
    """A client that sends full headers, then one body byte every 0.1 s until stop is set or it is answered.
    Returns (status or None, seconds until answered)."""
    import socket
    import time

    head = (f"POST /colorize HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            + (f"Authorization: Bearer {key}\r\n" if key else "") + "\r\n")
    part = b'--b\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n\r\n'
    body = iter(part + b"x" * length)
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=0.1) as sock:
        sock.sendall(head.encode())
        while not stop.is_set():
            try:
                got = sock.recv(4096)
                if got:
                    return int(got.split(b" ", 2)[1]), time.monotonic() - t0
                return None, time.monotonic() - t0  # closed without an answer
            except (socket.timeout, TimeoutError):
                pass
            try:
                sock.sendall(bytes([next(body)]))
            except OSError:
                return None, time.monotonic() - t0
    return None, time.monotonic() - t0
