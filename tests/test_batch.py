"""`python -m colorizer batch SRC DEST` (issue 44) on a local Ray with 2 workers: the same results as
`colorize`, a complete manifest, and a run killed midway (the driver by SIGKILL, a worker by os._exit)
that a rerun finishes without colorizing any photo twice."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from colorizer.batch import manifest
from colorizer.batch.plan import _local_plan, _uri_plan
from colorizer.batch.run import STOP_AFTER_ENV
from colorizer.batch.store import Store
from colorizer.batch.worker import ADOPTED, DIE_ONCE_ENV, ColorizeBatch
from colorizer.cli import main
from helpers import EXAMPLES_BW, EXAMPLES_COLOR, ROOT, TINY_BODY, make_weights

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """Tiny random weights of the module's own (the onnx export is written beside them), exported once."""
    from colorizer.infer import Colorizer

    path = make_weights(tmp_path_factory.mktemp("weights"), backbone=TINY_BODY)
    Colorizer.load(path, device="cpu", backend="onnx")  # the cache the CLI and the actors then share
    return path


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (2 CPUs, small object store); `batch` joins it, as it joins a cluster."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield
    ray.shutdown()


def make_archive(folder: Path) -> Path:
    """20 files: 14 photos in two folders (one with transparency, one gray, two whose results' names meet),
    a corrupt and a truncated photo, a text file, a hidden file."""
    for i, src in enumerate(sorted(EXAMPLES_COLOR.glob("*.jpg"))[:12]):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((96, 96))
            im.save(sub / src.name, quality=90)
            if i == 1:  # a/NAME.jpg and a/NAME.png: NAME_color.png and NAME_color_2.png
                im.save(sub / f"{src.stem}.png")
    logo = Image.new("RGBA", (70, 50), (200, 30, 30, 0))
    logo.paste((40, 40, 40, 255), (10, 10, 60, 40))
    logo.save(folder / "logo.png")
    with Image.open(sorted(EXAMPLES_BW.glob("*.jpg"))[0]) as im:
        im.convert("L").resize((96, 64)).save(folder / "old_gray.png")
    (folder / "broken.jpg").write_bytes(b"this is not a jpeg")
    data = (folder / "b").glob("*.jpg").__next__().read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.txt").write_text("not a photo")
    (folder / ".DS_Store").write_bytes(b"\0")
    return folder


def results(folder: Path) -> dict[str, Image.Image]:
    return {p.relative_to(folder).as_posix(): Image.open(p) for p in sorted(folder.rglob("*_color*.png"))}


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Each result's inode and modification time: written again, they change."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*_color*.png")}


def test_batch_matches_colorize_and_the_manifest_has_every_file(tmp_path, weights, local_ray, capsys):
    src = make_archive(tmp_path / "archive")
    assert main(["colorize", str(src), "-o", str(tmp_path / "by_colorize"), "--weights", str(weights)]) == 0
    refused_by_colorize = sorted(re.findall(r"skipped: [^\r\n]*", capsys.readouterr().err))  # amid tqdm's bar
    assert main(["batch", str(src), str(tmp_path / "by_batch"), "--weights", str(weights), "--workers", "2",
                 "--batch-size", "3"]) == 0
    out = capsys.readouterr().out
    assert "This run: 15 done, 2 refused" in out and "1 skipped" in out

    expected, got = results(tmp_path / "by_colorize"), results(tmp_path / "by_batch")
    assert sorted(got) == sorted(expected) and len(got) == 15  # same names, _2 included
    assert sum(name.endswith("_color_2.png") for name in got) == 1
    for name, image in expected.items():
        assert got[name].size == image.size and got[name].mode == image.mode, name
        assert np.array_equal(np.asarray(got[name]), np.asarray(image)), name
    assert got["logo_color.png"].mode == "RGBA"

    table = pq.read_table(tmp_path / "by_batch" / manifest.MANIFEST)
    assert table.column_names == list(manifest.COLUMNS)
    rows = {Path(r["source"]).relative_to(src).as_posix(): r for r in table.to_pylist()}
    listed = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file() and p.name != ".DS_Store")
    assert sorted(rows) == listed  # one row per file, hidden files aside
    assert rows["notes.txt"]["status"] == "skipped" and ".txt" in rows["notes.txt"]["reason"]
    said = sorted(f"skipped: {r['reason']}" if r["status"] == "refused" else f"skipped: {r['source']}: {r['reason']}"
                  for r in rows.values() if r["status"] != "done")
    assert said == refused_by_colorize  # the same refusals, in the same words
    done = [r for r in rows.values() if r["status"] == "done"]
    assert all(Path(r["output"]).is_file() and r["milliseconds"] > 0 for r in done)
    assert not list((tmp_path / "by_batch").rglob("*.tmp"))
    assert not list((tmp_path / "by_batch" / manifest.PARTS).glob("*"))  # folded into manifest.parquet

    # run again: nothing to do, nothing written again
    before = stamps(tmp_path / "by_batch")
    assert main(["batch", str(src), str(tmp_path / "by_batch"), "--weights", str(weights)]) == 0
    assert "0 to colorize" in capsys.readouterr().out
    assert stamps(tmp_path / "by_batch") == before


def kill_session(sid: int) -> None:
    """SIGKILL every process of session sid (Ray's workers have process groups of their own), and wait."""
    def members() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.name.isdigit() and int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(entry.name))
        return found

    for _ in range(50):
        alive = members()
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


@pytest.mark.slow  # a subprocess with its own Ray: about 35 s on 2 cores
def test_a_killed_run_is_finished_by_the_next_without_redoing_any(tmp_path, weights, local_ray, capsys):
    """The first run loses a worker after it wrote its batch's results (it dies before recording them), then
    the driver is killed with SIGKILL after 2 of 9 batches came back; the rerun colorizes only what is left."""
    src = make_archive(tmp_path / "archive")
    dest = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{STOP_AFTER_ENV: "2", DIE_ONCE_ENV: str(tmp_path / "died")})
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-m", "colorizer", "batch", str(src), str(dest), "--weights",
                             str(weights), "--workers", "2", "--batch-size", "2", "--num-cpus", "2",
                             "--object-store-mb", "80"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=240)
    finally:  # what the killed driver's local Ray left behind goes with it, before anything is looked at
        kill_session(proc.pid)
    assert proc.returncode == -signal.SIGKILL, log
    assert (tmp_path / "died").is_file()  # a worker died once, mid-run
    first = stamps(dest)
    assert 0 < len(first) < 15, log
    recorded = manifest.read(Store.open(str(dest)))[0].to_pylist()
    recorded_done = sum(r["status"] == "done" for r in recorded)
    recorded_refused = sum(r["status"] == "refused" for r in recorded)
    unrecorded = len(first) - recorded_done  # results written whole whose rows the kill lost

    assert main(["batch", str(src), str(dest), "--weights", str(weights), "--workers", "2",
                 "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    after = stamps(dest)
    assert len(after) == 15
    assert all(after[name] == stamp for name, stamp in first.items())  # none written twice
    rows = pq.read_table(dest / manifest.MANIFEST).to_pylist()
    assert len(rows) == 18 and len({r["source"] for r in rows}) == 18
    assert sum(r["status"] == "done" for r in rows) == 15
    # this run took every photo not recorded: it colorized those without a result, and kept the others
    kept = f" ({unrecorded} found already written)" if unrecorded else ""
    assert f"This run: {15 - recorded_done} done{kept}, {2 - recorded_refused} refused" in out, out
    assert not list(dest.rglob("*.tmp"))


def test_uri_sources_and_outputs_go_the_same_way(tmp_path, weights):
    """A pyarrow filesystem (as s3:// opens) planned and colorized as a local folder is, staged through a
    temp folder; an output already there is kept, not colorized again. No Ray: the actor's class alone."""
    from pyarrow import fs as pafs

    src_dir = make_archive(tmp_path / "archive")
    local_src, local_dest = Store.open(str(src_dir)), Store.open(str(tmp_path / "local"))
    uri_src = Store(f"mock://{src_dir}", str(src_dir), pafs.LocalFileSystem())
    uri_dest = Store(f"mock://{tmp_path / 'remote'}", str(tmp_path / "remote"), pafs.LocalFileSystem())
    local_plan, uri_plan = _local_plan(local_src, local_dest, "png"), _uri_plan(uri_src, uri_dest, "png")
    assert [d for _, d in local_plan.jobs] == [d for _, d in uri_plan.jobs]
    assert [why for _, why in local_plan.skipped] == [why for _, why in uri_plan.skipped]

    second = next(d for _, d in uri_plan.jobs if d.endswith("_color_2.png"))  # x.jpg and x.png
    first = second.replace("_color_2.png", "_color.png")
    jobs = [(s, d) for s, d in uri_plan.jobs if d in (first, second, "logo_color.png")]
    jobs.append((f"mock://{src_dir}/broken.jpg", "broken_color.png"))
    kept = tmp_path / "remote" / first
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"written whole by a killed run")
    worker = ColorizeBatch(str(src_dir), str(tmp_path / "local"), str(weights), backend="onnx")
    worker.src, worker.dest = uri_src, uri_dest
    outputs = dict(jobs)
    rows = {outputs[r["source"]]: r for r in worker.colorize(jobs)}
    assert rows[first]["reason"] == ADOPTED and kept.read_bytes().startswith(b"written")
    assert rows["broken_color.png"]["status"] == "refused"
    assert rows["broken_color.png"]["reason"].startswith(f"mock://{src_dir}/broken.jpg: not a readable photo")
    assert rows[second]["status"] == rows["logo_color.png"]["status"] == "done"
    assert rows[second]["output"] == f"mock://{tmp_path / 'remote'}/{second}"
    assert not (tmp_path / "remote" / "broken_color.png").exists()
    with Image.open(tmp_path / "remote" / "logo_color.png") as im:
        assert im.mode == "RGBA" and im.size == (70, 50)


def test_manifest_parts_fold_in_and_a_done_row_wins(tmp_path):
    dest = Store.open(str(tmp_path / "out"))
    manifest.write_part(dest, [dict(source="a.jpg", status="refused", reason="a.jpg: cannot be written")])
    manifest.write_part(dest, [dict(source="a.jpg", output="a_color.png", status="done", milliseconds=5.0),
                               dict(source="b.jpg", status="refused", reason="b.jpg: damaged")])
    folded = manifest.consolidate(dest, [dict(source="c.txt", status="skipped", reason="not a photo")])
    assert {r["source"]: r["status"] for r in folded.to_pylist()} == {"a.jpg": "done", "b.jpg": "refused",
                                                                      "c.txt": "skipped"}
    assert dest.list_files(manifest.PARTS) == []
    assert manifest.read(dest)[0].equals(folded)


def test_batch_errors_are_one_line_before_ray_starts(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and len(err.splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), str(tmp_path / "out")]) == 2
    assert "no photos found" in capsys.readouterr().err


def test_a_batch_that_fails_outright_is_one_error_line(tmp_path, weights, local_ray, capsys):
    """Not a photo's fault (those are refused rows): its manifest part cannot be written. The run stops with
    one line, and the results already written are found by the next run."""
    src = make_archive(tmp_path / "archive")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / manifest.PARTS).write_text("a file where the parts' folder goes")
    assert main(["batch", str(src), str(tmp_path / "out"), "--weights", str(weights), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    said = re.findall(r"^error: .*", err, re.M)  # after the progress bar
    assert len(said) == 1 and said[0].startswith("error: a batch failed, the run stopped: FileExistsError")
    assert manifest.PARTS in said[0] and "rerun the same command" in said[0]
    assert "Traceback" not in err and "ERROR" not in err
