"""The fast paths: a light command line, the ONNX backend (same colors as torch), the folder pipeline
(batches, formats) and the training fast path (fused Adam, compile flag) on the CPU."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorizer import onnx_backend
from colorizer.checkpoint import make_meta, save_weights
from colorizer.cli import main, plan_outputs
from colorizer import backend
from colorizer.infer import ColorStrengthError, Colorizer, export_onnx
from colorizer.models import PatchDiscriminator, build_generator
from colorizer.pipeline import colorize_files
from helpers import EXAMPLES_BW, ROOT, copy_examples

SHIPPED = ROOT / "weights" / "generator_pretrained.pt"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    g = build_generator("resnet18", "none", 64)
    folder = tmp_path_factory.mktemp("tiny")
    return save_weights(folder / "tiny.pt", g.state_dict(),
                        make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=10))


def small_photos(folder: Path, sizes=((90, 60), (90, 60), (60, 90), (90, 60))) -> list[Path]:
    """Real black-and-white photos, made small: two render shapes among them."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (src, size) in enumerate(zip(sorted(EXAMPLES_BW.glob("*.jpg")), sizes)):
        with Image.open(src) as im:
            out.append(folder / f"p{i}.jpg")
            im.convert("RGB").resize(size).save(out[-1], quality=90)
    return out


@pytest.mark.slow
def test_command_line_imports_no_torch_before_it_runs():
    code = "import sys, colorizer.cli; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    helped = subprocess.run([sys.executable, "-m", "colorizer", "colorize", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--backend" in helped.stdout and "--format" in helped.stdout


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped weights not present")
def test_onnx_matches_torch_fp32_on_real_photos(tmp_path):
    model = export_onnx(SHIPPED, tmp_path / "m.onnx", color_strength=1.0)
    onnx = Colorizer.load(tmp_path / "m.onnx")
    assert onnx.backend == "onnx" and onnx.meta["stage"] == model.meta["stage"] == "pretrain"
    assert onnx.render_size == model.render_size
    for src in sorted(EXAMPLES_BW.glob("*.jpg"))[:3]:
        with Image.open(src) as im:
            image = im.convert("RGB").resize((160, 112))
        _, L = model.prepare(image)
        a, b = model.predict_ab(L), onnx.predict_ab(L)
        assert a.shape == b.shape == (1, 2, *L.shape[-2:])
        assert np.abs(a - b).max() < 1e-2, src.name
        assert np.abs(a).mean() > 1e-3  # not a trivially gray prediction


def test_pt_weights_on_onnx_are_exported_once_beside_them(tiny, monkeypatch):
    torch_model = Colorizer.load(tiny, device="cpu", precision="fp32")
    first = Colorizer.load(tiny, backend="onnx")
    cached = list((tiny.parent / onnx_backend.CACHE_DIR).glob("tiny.*.onnx"))
    assert first.backend == "onnx" and len(cached) == 1
    monkeypatch.setattr(onnx_backend, "export", lambda *a, **k: pytest.fail("exported again"))
    again = Colorizer.load(tiny, backend="onnx")
    L = np.random.default_rng(0).uniform(-1, 1, (2, 1, 64, 96)).astype(np.float32)
    assert np.abs(again.predict_ab(L) - torch_model.predict_ab(L)).max() < 1e-4
    assert again.colorize(Image.new("RGB", (70, 50), "gray")).size == (70, 50)


def test_the_first_start_says_why_it_is_slow_and_the_next_says_nothing(tmp_path, capsys):
    torch.manual_seed(0)
    weights = save_weights(tmp_path / "first.pt", build_generator("resnet18", "none", 64).state_dict(),
                           make_meta(stage="pretrain", backbone="resnet18", size=64, images_seen=10))
    Colorizer.load(weights, backend="onnx")
    err = capsys.readouterr().err
    assert "Preparing" in err and "first.pt" in err and "once" in err
    Colorizer.load(weights, backend="onnx")
    assert "Preparing" not in capsys.readouterr().err


@pytest.mark.slow
def test_one_photo_on_a_cached_export_imports_no_torch(tiny, tmp_path):
    """The start of `colorize` on onnx: weights metadata (checkpoint.read_meta), the cached export, and
    numpy color (color.py) around it; importing torch would be about half of the command's time."""
    Colorizer.load(tiny, backend="onnx")  # the export is cached beside the weights
    src, dest = small_photos(tmp_path / "in")[0], tmp_path / "one.png"
    code = ("import sys; from colorizer.cli import main; code = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code, "colorize", str(src), "-o", str(dest), "--weights", str(tiny),
                           "--backend", "onnx"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with Image.open(src) as a, Image.open(dest) as b:
        assert a.size == b.size and b.mode == "RGB"


def test_onnx_color_strength_is_fixed_at_export(tiny, tmp_path, capsys):
    dest = tmp_path / "tiny.onnx"
    assert main(["export-onnx", str(tiny), str(dest)]) == 0 and dest.is_file()
    with pytest.raises(ColorStrengthError, match="fixed at export"):
        Colorizer.load(dest, color_strength=0.5)
    not_onnx = tmp_path / "bad.onnx"
    not_onnx.write_bytes(b"not a model")
    capsys.readouterr()
    assert main(["colorize", str(EXAMPLES_BW), "--weights", str(not_onnx)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.onnx" in err


def test_folder_pipeline_batches_by_shape_and_writes_every_format(tiny, tmp_path, capsys):
    srcs = small_photos(tmp_path / "in" / "sub")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"not a jpeg")
    for fmt in ("png", "jpg", "webp"):
        out = tmp_path / f"out_{fmt}"
        assert main(["colorize", str(tmp_path / "in"), "-o", str(out), "--weights", str(tiny), "--format", fmt,
                     "--quality", "80", "--backend", "torch", "--precision", "fp32"]) == 0
        assert "broken.jpg" in capsys.readouterr().err
        for s in srcs:
            dest = out / "sub" / f"{s.stem}_color.{fmt}"
            with Image.open(s) as a, Image.open(dest) as b:
                assert b.size == a.size and b.format == {"jpg": "JPEG"}.get(fmt, fmt.upper())
    model = Colorizer.load(tiny, device="cpu", precision="fp32")
    batches = []
    predict = model.predict_ab
    model.predict_ab = lambda L: batches.append(tuple(L.shape)) or predict(L)
    jobs = [(s, tmp_path / "direct" / s.name.replace(".jpg", ".png")) for s in srcs]
    results = list(colorize_files(model, jobs, batch_size=8))
    assert sorted(r.dest for r in results) == sorted(d for _, d in jobs) and not any(r.error for r in results)
    assert sorted(b[0] for b in batches) == [1, 3]  # 3 landscape photos in one batch, 1 portrait
    one = Colorizer.load(tiny, device="cpu", precision="fp32")
    with Image.open(srcs[0]) as im, Image.open(jobs[0][1]) as piped:  # in a batch of 3: sums in another order
        diff = np.abs(np.asarray(one.colorize(im.convert("RGB")), dtype=int) - np.asarray(piped, dtype=int))
        assert diff.max() <= 1 and diff.mean() < 0.01


def test_plan_names_results_before_any_model(tmp_path):
    srcs = copy_examples(tmp_path / "in", 2)
    jobs, out, _, _ = plan_outputs([str(tmp_path / "in")], None, "jpg")
    assert out == Path("colorized") and [d for _, d in jobs] == [Path("colorized") / f"{s.stem}_color.jpg" for s in srcs]
    jobs, out, _, _ = plan_outputs([str(srcs[0])], str(tmp_path / "x.webp"), "png")
    assert jobs == [(srcs[0], tmp_path / "x.webp")]


def test_backend_choice(monkeypatch):
    resolve = backend.resolve_backend
    assert resolve("auto", "cpu") == "onnx" and resolve("torch", "cpu") == "torch" and resolve("onnx", "auto") == "onnx"
    assert resolve("auto", "cuda") == resolve("auto", "cuda:1") == resolve("auto", "mps") == "torch"
    monkeypatch.setattr(backend, "gpu_may_be_present", lambda: False)  # no GPU: decided without asking torch
    assert resolve("auto", "auto") == "onnx"
    monkeypatch.setattr(backend, "gpu_may_be_present", lambda: True)  # maybe one: torch decides
    assert resolve("auto", "auto") == ("torch" if torch.cuda.is_available() else "onnx")
    with pytest.raises(ValueError):
        resolve("tensorrt", "cpu")


def test_training_fast_path_on_cpu(tmp_path):
    from colorizer.training.config import TrainConfig
    from colorizer.training.parsers import config_from_args, pretrain_parser
    from colorizer.training.stages import GANStage, adam, compiled

    cfg = config_from_args(pretrain_parser().parse_args(["--no-compile"]), "gan")
    assert cfg.compile is False and TrainConfig().compile is None
    cpu = torch.device("cpu")
    net = torch.nn.Linear(2, 2)
    assert compiled(net, TrainConfig(), cpu) is net  # off on the CPU by default
    opt = adam(net.parameters(), 1e-3, (0.5, 0.999), cpu)
    net(torch.ones(1, 2)).sum().backward()
    before = net.weight.detach().clone()
    opt.step()
    assert opt.defaults["fused"] and not torch.equal(before, net.weight)

    class Task:  # what GANStage needs of a task: channels, decode, a reconstruction loss
        in_channels, out_channels = 1, 2
        decode = staticmethod(lambda out: out)
        reconstruction_loss = staticmethod(lambda out, y: (out.float() - y).abs().mean())

    g = build_generator("resnet18", "none", 64).to(memory_format=torch.channels_last)
    stage = GANStage(TrainConfig(stage="gan", lr=1e-4), Task(), g, cpu, "bf16", lambda m: m)
    x, y = torch.rand(2, 1, 64, 64), torch.rand(2, 2, 64, 64) * 0.2
    losses = stage.step(x, y)
    assert set(losses) == {"train_d", "train_g_gan", "train_l1"} and all(np.isfinite(list(losses.values())))


@pytest.mark.slow
def test_generator_and_critic_compile_without_graph_breaks():
    """torch.compile on CUDA (cfg.compile): the networks must trace whole (fastai's TensorBase would break them)."""
    g = build_generator("resnet18", "none", 64).eval()
    explained = torch._dynamo.explain(g)(torch.rand(1, 1, 64, 64))
    assert explained.graph_break_count == 0, explained.break_reasons
    d = PatchDiscriminator(3)
    explained = torch._dynamo.explain(d)(torch.rand(1, 1, 64, 64), torch.rand(1, 2, 64, 64))
    assert explained.graph_break_count == 0


def test_folder_pipeline_colorizes_more_photos_than_it_holds_at_once(tiny, tmp_path):
    """More photos than `ahead`: when every read photo is waiting to be written, the pipeline makes
    room and reads on, instead of ending with the rest unread (it once wrote 16 of 68)."""
    srcs = small_photos(tmp_path / "in") * 3
    model = Colorizer.load(tiny, device="cpu", precision="fp32")
    jobs = [(s, tmp_path / "out" / f"{i}.png") for i, s in enumerate(srcs)]
    results = list(colorize_files(model, jobs, batch_size=2, ahead=2))
    assert len(results) == len(jobs) and not any(r.error for r in results)
    assert all(d.is_file() for _, d in jobs)


def test_one_list_of_photo_types():
    from colorizer.data import DataError, scan_photos
    from colorizer.images import PLUGIN_FORMATS, readable_extensions
    from colorizer.limits import PHOTO_EXTENSIONS, PLUGIN_EXTENSIONS, UPLOAD_TYPES

    assert set(PLUGIN_FORMATS) == set(PLUGIN_EXTENSIONS)
    assert {"gif", "avif", "heic"} <= set(UPLOAD_TYPES)
    assert set(readable_extensions()) <= set(PHOTO_EXTENSIONS + PLUGIN_EXTENSIONS)
    with pytest.raises(DataError, match=r"\.gif") if ".gif" in readable_extensions() else pytest.raises(DataError):
        scan_photos(Path(__file__).parent)  # no photos among the tests: the error lists what is searched for


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped weights not present")
def test_torch_bf16_on_cpu_keeps_the_colors_of_fp32():
    fp32 = Colorizer.load(SHIPPED, device="cpu", precision="fp32", color_strength=1.0)
    bf16 = Colorizer.load(SHIPPED, device="cpu", precision="bf16", color_strength=1.0)
    assert next(bf16.generator.parameters()).dtype == torch.bfloat16  # weights cast, not only autocast
    for src in sorted(EXAMPLES_BW.glob("*.jpg"))[:2]:
        with Image.open(src) as im:
            image = im.convert("RGB").resize((160, 112))
        a, b = (np.asarray(m.colorize(image), dtype=np.int16) for m in (fp32, bf16))
        assert np.abs(a - b).mean() < 1.0 and np.percentile(np.abs(a - b), 99) <= 4, src.name


def test_the_optimized_graph_is_kept_and_used_at_the_next_start(tiny, monkeypatch):
    first = Colorizer.load(tiny, backend="onnx")
    exports = list((tiny.parent / onnx_backend.CACHE_DIR).glob("tiny.*.onnx"))
    optimized = [onnx_backend.optimized_file(p) for p in exports]
    assert any(p.is_file() and p.stat().st_size > 0 for p in optimized)
    monkeypatch.setattr(onnx_backend.OnnxNet, "_optimize", lambda *a: pytest.fail("optimized again"))
    again = Colorizer.load(tiny, backend="onnx")
    L = np.random.default_rng(0).uniform(-1, 1, (2, 1, 64, 96)).astype(np.float32)
    assert np.abs(again.predict_ab(L) - first.predict_ab(L)).max() < 1e-5
    for p in optimized:  # a damaged one is set aside, and the export optimized again
        p.write_bytes(b"not onnx")
    monkeypatch.undo()
    third = Colorizer.load(tiny, backend="onnx")
    assert np.abs(third.predict_ab(L) - first.predict_ab(L)).max() < 1e-5
    assert any(p.is_file() and p.stat().st_size > 1000 for p in optimized)
