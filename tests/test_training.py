"""The training loop and its batched twin: a family of models trains as the models would one by one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emergence import family
from emergence.tasks import IGNORE, Batches, Shape, Task
from emergence.training import throughput, train, train_family


class CopyTask(Task):
    """Copy a random digit string after a separator: small, learnable, cheap."""

    vocab_size = 11
    context = 9

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        def make(step: int):
            generator = torch.Generator().manual_seed(seed * 100_003 + step)
            digits = torch.randint(0, 10, (batch_size, 4), generator=generator)
            ids = torch.cat([digits, torch.full((batch_size, 1), 10), digits], dim=1)
            labels = ids.clone()
            labels[:, :5] = IGNORE
            return ids, labels

        return make

    def evaluate(self, model) -> dict[str, float]:
        ids, labels = self.batches(64, seed=999)(0)
        with torch.inference_mode():
            predicted = model(input_ids=ids).logits[:, 4:-1].argmax(-1)
        return {"accuracy": float((predicted == ids[:, 5:]).float().mean())}


SHAPE = Shape(n_layer=2, n_embd=16, n_head=2)


def test_family_loss_is_the_models_loss_member_by_member():
    task = CopyTask()
    models = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        models.append(task.model(SHAPE))
    batches = [task.batches(8, seed)(0) for seed in (0, 1, 2)]
    ids = torch.stack([b[0] for b in batches])
    labels = torch.stack([b[1] for b in batches])
    params = family.stack(models)
    losses = family.family_loss(params, ids, labels, models[0].config)
    logits = family.family_logits(params, ids, models[0].config)
    for i, model in enumerate(models):
        output = model(input_ids=ids[i], labels=labels[i])
        torch.testing.assert_close(logits[i], output.logits, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(losses[i], output.loss, rtol=1e-6, atol=1e-6)


def test_train_family_gives_the_losses_of_training_one_by_one():
    task = CopyTask()
    settings = dict(batch_size=16, lr=3e-3, warmup_steps=10, eval_steps=[150, 300])
    together = train_family(task, SHAPE, [0, 1], 300, **settings)
    for run in together:
        alone = train(task, SHAPE, 300, seed=run.seed, **settings)
        np.testing.assert_allclose(run.log.losses, alone.log.losses, rtol=1e-4, atol=1e-5)
        assert run.log.eval_steps == alone.log.eval_steps == [150, 300]
        np.testing.assert_allclose(run.log.curve("accuracy"), alone.log.curve("accuracy"),
                                   atol=1 / 64 + 1e-9)
        # the trained weights were written back into the model the run returns (compared by
        # what they compute: the key bias gets a zero gradient, which AdamW turns rounding
        # noise into steps of full size, so raw weights may differ where outputs cannot)
        ids, _ = task.batches(8, seed=7)(0)
        with torch.inference_mode():
            torch.testing.assert_close(run.model(input_ids=ids).logits,
                                       alone.model(input_ids=ids).logits, rtol=1e-3, atol=1e-3)
    assert together[0].log.losses[-1] < 0.6 * together[0].log.losses[0], "the task is learnt"
    assert together[0].log.losses != together[1].log.losses, "seeds give different runs"


class ShiftedCopyTask(CopyTask):
    """CopyTask on other digit strings, of the same shape: another training set."""

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        return super().batches(batch_size, seed + 7)


class ShorterCopyTask(CopyTask):
    """The same model (context 9), on sequences two tokens shorter."""

    def batches(self, batch_size: int, seed: int = 0) -> Batches:
        make = super().batches(batch_size, seed)
        return lambda step: tuple(t[:, :-2] for t in make(step))


def test_a_family_of_tasks_trains_each_member_on_its_own_task():
    """One task per member (a sweep over data): each member's run is the run of training
    it alone, on its task, from its seed; a seed may repeat when the tasks differ."""
    tasks = [CopyTask(), ShiftedCopyTask()]
    scores = [lambda model: {"member": 0.0}, lambda model: {"member": 1.0}]
    together = train_family(tasks, SHAPE, [0, 0], 60, batch_size=16, lr=3e-3,
                            eval_steps=[60], eval_fn=scores)
    for member, (task, run) in enumerate(zip(tasks, together)):
        alone = train(task, SHAPE, 60, seed=0, batch_size=16, lr=3e-3)
        np.testing.assert_allclose(run.log.losses, alone.log.losses, rtol=1e-4, atol=1e-5)
        assert run.log.curve("member").tolist() == [member]
    assert together[0].log.losses != together[1].log.losses
    with pytest.raises(ValueError, match="one task per seed"):
        train_family(tasks, SHAPE, [0], 3)
    with pytest.raises(ValueError, match="one eval_fn per member"):
        train_family(tasks, SHAPE, [0, 1], 3, eval_fn=scores[:1])
    with pytest.raises(ValueError, match="different shapes"):
        train_family([CopyTask(), ShorterCopyTask()], SHAPE, [0, 1], 3)


def test_a_run_depends_only_on_its_arguments():
    task = CopyTask()
    first = train(task, SHAPE, 20, seed=3, batch_size=8)
    torch.manual_seed(12345)  # whatever ran before
    second = train(task, SHAPE, 20, seed=3, batch_size=8)
    assert first.log.losses == second.log.losses


def test_training_log_reports_throughput():
    run = train(CopyTask(), SHAPE, 5, batch_size=8)
    assert run.log.tokens == 5 * 8 * 9
    assert run.log.n_parameters == sum(p.numel() for p in run.model.parameters())
    line = throughput([run.log], peak_flops=1e12)
    assert "tokens/s" in line and "of the matmul peak" in line
    assert run.log.curve("accuracy").size == 0  # no evaluations were asked for
    evaluated = train(CopyTask(), SHAPE, 2, batch_size=8, eval_steps=[2])
    with pytest.raises(ValueError, match="no score"):
        evaluated.log.curve("loss")


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "steps"),
    (dict(lr=0.0), "lr"),
    (dict(eval_steps=[0]), "eval_steps"),
])
def test_bad_training_arguments_raise(kwargs, message):
    arguments = dict(steps=3, lr=1e-3) | kwargs
    steps = arguments.pop("steps")
    with pytest.raises(ValueError, match=message):
        train(CopyTask(), SHAPE, steps, **arguments)


def test_a_family_must_share_one_configuration():
    task = CopyTask()
    with pytest.raises(ValueError, match="same configuration"):
        family.stack([task.model(SHAPE), task.model(Shape(1, 16, 2))])
    with pytest.raises(ValueError, match="same task from the same seed"):
        train_family(task, SHAPE, [1, 1], 3)
    with pytest.raises(ValueError, match="same task from the same seed"):
        train_family([task, task], SHAPE, [1, 1], 3)
    with pytest.raises(ValueError, match="at least one"):
        family.stack([])
    with pytest.raises(ValueError, match="TinyGPT"):
        family.stack([torch.nn.Linear(2, 2)])


def test_shape_is_checked():
    with pytest.raises(ValueError, match="divisible"):
        Shape(1, 10, 3)
    with pytest.raises(ValueError, match=">= 1"):
        Shape(0, 8, 2)


def test_evaluation_runs_in_eval_mode_and_the_model_is_returned_in_eval_mode():
    modes = []

    def spy(model):
        modes.append(model.training)
        return {"calls": float(len(modes))}

    for trainer in (lambda **kw: train(CopyTask(), SHAPE, 4, **kw),
                    lambda **kw: train_family(CopyTask(), SHAPE, [0], 4, **kw)[0]):
        modes.clear()
        run = trainer(batch_size=8, eval_steps=[2, 4], eval_fn=spy)
        assert modes == [False, False] and run.log.eval_steps == [2, 4]
        assert run.log.curve("calls").tolist() == [1.0, 2.0]
        assert not run.model.training
