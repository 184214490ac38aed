"""The shared training loop: epoch means weighted by rows, named parts, the monitor, and a resumed run that ends as an
uninterrupted one."""

import pytest
import torch

from bench.checkpoints import Checkpointer, generator_states, restore_generators
from bench.health import Diverged
from bench.training import train_epochs


def regression(tmp_path=None, *, every_epochs=None, killed_at=None, nan=False):
    """A linear model fitted by SGD for 4 epochs on 10 rows in batches of 4 (4, 4, 2), through ``train_epochs``:
    (model, log, (loss, rows) of every step). ``killed_at``: a KeyboardInterrupt at that step; ``nan``: NaN losses."""
    g = torch.Generator().manual_seed(0)
    x, w_true = torch.randn(10, 3, generator=g), torch.tensor([1.0, -2.0, 0.5])
    y = x @ w_true
    model = torch.nn.Linear(3, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    shuffle = torch.Generator().manual_seed(1)
    seen = []

    def batches():
        return torch.randperm(10, generator=shuffle).split(4)

    def step(idx, log):
        if len(seen) == killed_at:
            raise KeyboardInterrupt
        loss = (model(x[idx]).squeeze(1) - y[idx]).square().mean() * (float("nan") if nan else 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen.append((float(loss.detach()), len(idx)))
        log.add({"loss": loss, "twice": 2 * loss}, len(idx))

    def state():
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generators": generator_states(shuffle=shuffle)}

    def restore(saved):
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        restore_generators(saved["generators"], shuffle=shuffle)

    checkpoint = None if tmp_path is None else Checkpointer(tmp_path / "c.ckpt", every_epochs=every_epochs)
    log = train_epochs("fit", 4, batches, step, state=state, restore=restore, checkpoint=checkpoint)
    return model, log, seen


def test_epoch_means_are_weighted_by_rows_and_parts_are_kept():
    _, log, seen = regression()
    assert log.steps == 12 and len(log.losses) == 4 and log.seconds > 0
    first = sum(loss * rows for loss, rows in seen[:3]) / 10
    assert log.losses[0] == pytest.approx(first, rel=1e-6)
    assert log.parts["twice"] == pytest.approx([2 * v for v in log.losses], rel=1e-6)
    assert log.losses[-1] < log.losses[0]


def test_a_resumed_run_ends_as_an_uninterrupted_one(tmp_path):
    whole, whole_log, _ = regression()
    with pytest.raises(KeyboardInterrupt):
        regression(tmp_path, every_epochs=1, killed_at=7)  # during the third epoch: the second's state is saved
    resumed, log, seen = regression(tmp_path, every_epochs=1)
    assert len(seen) == 6  # only epochs 3 and 4 ran
    assert torch.equal(resumed.weight, whole.weight)
    assert log.losses == whole_log.losses and log.steps == whole_log.steps
    assert not (tmp_path / "c.ckpt").exists()  # removed when the stage completed


def test_a_non_finite_loss_stops_the_stage():
    with pytest.raises(Diverged, match="fit loss diverged at epoch 1"):
        regression(nan=True)
