"""The command lines as a user types them: help, colorize files and folders, clear errors."""
import subprocess
import sys

import pytest
from PIL import Image

from colorizer.cli import main
from helpers import ROOT, copy_examples


@pytest.mark.slow
@pytest.mark.parametrize("script", ["pretrain.py", "train_gan.py"])
def test_scripts_have_helpful_help(script):
    out = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0
    for flag in ("--data", "--size", "--epochs", "--resume", "--out", "--time-limit"):
        assert flag in out.stdout
    assert "Example" in out.stdout


def test_colorize_a_file_keeps_its_size(tmp_path, tiny_weights):
    src = copy_examples(tmp_path / "in", 1)[0]
    out = tmp_path / "result.png"
    assert main(["colorize", str(src), "-o", str(out), "--weights", str(tiny_weights)]) == 0
    with Image.open(src) as a, Image.open(out) as b:
        assert b.size == a.size and b.mode == "RGB"


def test_colorize_a_folder_skips_bad_files(tmp_path, tiny_weights, capsys):
    srcs = copy_examples(tmp_path / "in" / "nested", 2)
    (tmp_path / "in" / "broken.png").write_bytes(b"nope")
    assert main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                 "--weights-dir", str(tiny_weights.parent), "--render-size", "64"]) == 0
    err = capsys.readouterr().err
    assert "broken.png" in err
    for s in srcs:
        with Image.open(s) as a, Image.open(tmp_path / "out" / "nested" / (s.stem + "_color.png")) as b:
            assert a.size == b.size


def test_colorize_without_weights_says_what_to_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    src = copy_examples(tmp_path, 1)[0]
    assert main(["colorize", str(src), "--weights-dir", str(tmp_path / "empty")]) == 2
    assert "python pretrain.py" in capsys.readouterr().err


def test_damaged_weights_file_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    src = copy_examples(tmp_path, 1)[0]
    assert main(["colorize", str(src), "--weights", str(bad)]) == 2
    assert "bad.pt" in capsys.readouterr().err


def test_training_cli_reports_bad_data_folder(tmp_path, capsys):
    from colorizer.cli import gan_main, pretrain_main

    assert pretrain_main(["--data", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert gan_main(["--data", str(tmp_path), "--init", str(tmp_path / "stage1.pt"), "--quiet"]) == 2
    assert "stage1.pt does not exist" in capsys.readouterr().err


def test_help_shows_the_everyday_flags_first(capsys):
    """The first screen of `colorize --help` is what most users need; the advanced flags come after."""
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = capsys.readouterr().out
    first = "\n".join(text.splitlines()[:22])
    for flag in ("-o OUTPUT", "--saturation", "--format", "--quality"):
        assert flag in first, flag
    assert "--temperature" not in first and "--precision" not in first
    assert text.index("advanced") > text.index("--quality")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "colorize old.jpg -o old_color.png" in capsys.readouterr().out


def test_pip_install_gives_a_colorizer_command():
    """pyproject's console script is the same main as `python -m colorizer`."""
    import importlib
    import tomllib

    from helpers import ROOT

    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["colorizer"]
    module, func = target.split(":")
    assert getattr(importlib.import_module(module), func) is main
