"""The pinned environment imports together and the generator runs (the torch/torchvision trap)."""
import torch


def test_torchvision_and_fastai_import_and_generator_runs():
    import torchvision
    import torchvision.ops  # the compiled ops fail on a mismatched torch ("torchvision::nms does not exist")
    from fastai.vision.all import create_body  # noqa: F401

    from colorizer.models import build_generator

    assert torchvision.ops.nms(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([1.0]), 0.5).tolist() == [0]
    g = build_generator("resnet34", "none", 64).eval()
    with torch.no_grad():
        assert g(torch.zeros(1, 1, 96, 64)).shape == (1, 2, 96, 64)
