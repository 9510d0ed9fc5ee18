"""Several --data folders in chosen shares, several --val-data folders: parsing, the sampler, a run."""
import csv

import pytest

from colorizer.checkpoint import read_meta
from colorizer.data import DataError, ShareSampler, parse_part, part_shares
from colorizer.training import TrainConfig, train
from colorizer.training.parsers import pretrain_parser


def test_parse_part_reads_a_share_only_when_it_is_a_number(tmp_path):
    assert parse_part("photos/people:0.5") == ("photos/people", 0.5)
    assert parse_part("photos/people") == ("photos/people", None)
    assert parse_part("odd:name") == ("odd:name", None)
    with pytest.raises(DataError, match="positive"):
        parse_part("people:0")


def test_part_shares_named_and_the_rest_by_count():
    assert part_shares([100, 300], [None, None]) == [0.25, 0.75]
    assert part_shares([100, 300, 100], [0.5, None, None]) == pytest.approx([0.5, 0.375, 0.125])
    assert part_shares([10, 10], [2, 6]) == pytest.approx([0.25, 0.75])  # all named: relative weights
    with pytest.raises(DataError, match="nothing"):
        part_shares([10, 10, 10], [0.7, 0.6, None])


def test_share_sampler_draws_by_share_and_ranks_split_one_draw():
    sampler = ShareSampler([900, 100], [0.5, 0.5], seed=1)
    counts = sampler.counts()
    assert sum(counts) == 1000 and 430 < counts[1] < 570  # the small part drawn as often as the large
    sampler.set_epoch(1)
    first = list(sampler)
    sampler.set_epoch(2)
    assert list(sampler) != first  # a new draw each epoch ...
    sampler.set_epoch(1)
    assert list(sampler) == first  # ... the same one again for the same epoch (resume)
    ranks = [ShareSampler([900, 100], [0.5, 0.5], seed=1, rank=r, world=2) for r in (0, 1)]
    for r in ranks:
        r.set_epoch(1)
    assert list(ranks[0]) + list(ranks[1]) == first


def test_parser_takes_several_folders_with_shares():
    args = pretrain_parser().parse_args(["--data", "a:0.7", "b", "--val-data", "v1", "v2"])
    assert args.data == ["a:0.7", "b"] and args.val_data == ["v1", "v2"]
    assert TrainConfig(data=args.data, val_data=args.val_data).data == ("a:0.7", "b")
    assert TrainConfig(data=["a"]).data == "a"
    with pytest.raises(ValueError, match="one --data"):
        TrainConfig(task="paired", stage="gan", data=("a", "b"))


def test_a_run_on_two_parts_logs_each_and_records_the_mix(tmp_path, photo_dir):
    logs = []
    cfg = TrainConfig(stage="pretrain", data=(str(photo_dir / "a") + ":0.8", str(photo_dir / "b")),
                      val_data=(str(photo_dir / "a"), str(photo_dir / "b")), out=tmp_path / "g.pt",
                      run_dir=tmp_path / "run", size=64, epochs=1, batch_size=4, lr=1e-3, workers=0,
                      backbone_weights="none", samples=2)
    train(cfg, progress=False, log=logs.append)
    parts = [line for line in logs if line.startswith("data part")]
    assert len(parts) == 2 and "share 80%" in parts[0] and "share 20%" in parts[1], logs
    row = next(csv.DictReader((cfg.run_dir / "log.csv").open()))
    assert {"val_a_psnr_gain", "val_b_psnr_gain", "val_score"} <= set(row)
    mean = (float(row["val_a_score"]) + float(row["val_b_score"])) / 2
    assert float(row["val_score"]) == pytest.approx(mean, rel=1e-5)
    meta = read_meta(cfg.out)
    assert [m["share"] for m in meta["data_mix"]] == [0.8, 0.2]
    assert [m["photos"] for m in meta["data_mix"]] == [6, 6]
