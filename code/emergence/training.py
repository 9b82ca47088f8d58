"""The training loop: a task and a shape in, a trained model and its log out.

:func:`train` trains one model with its own forward pass (:class:`emergence.model.TinyGPT`);
:func:`train_family` trains several models of one shape at once (one per seed) on stacked
weights (:mod:`emergence.family`) and gives the same losses, member by member, in a
fraction of the time. Both seed the initialisation and the batches with ``seed``, so a run depends only on
its arguments. Introduced in the chapter 'Emergence with scale' (emergence-with-scale).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from emergence import family
from emergence.model import TinyGPT, count_parameters, training_flops
from emergence.tasks import Shape, Task

#: What an evaluation returns: named scores.
Scores = dict[str, float]


@dataclass
class TrainingLog:
    """What a training run measured: the loss per step, the evaluations, and throughput.
    Introduced in the chapter 'Emergence with scale' (emergence-with-scale-training).

    ``seconds`` counts the optimisation steps only (not batch making or evaluation); a model
    trained in a family is charged its share of the family's time.
    """

    n_parameters: int
    losses: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    evals: list[Scores] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    @property
    def flops_per_second(self) -> float:
        """Achieved training FLOP/s by the 6 N D estimate (every parameter counted)."""
        if self.seconds <= 0:
            return float("nan")
        return training_flops(self.n_parameters, self.tokens) / self.seconds

    def curve(self, name: str) -> np.ndarray:
        """One evaluated score over the evaluation steps (see ``eval_steps``)."""
        if self.evals and name not in self.evals[0]:
            raise ValueError(f"no score {name!r}; the evaluations have {sorted(self.evals[0])}")
        return np.array([scores[name] for scores in self.evals])


@dataclass
class Run:
    """A trained model with the shape and seed it was trained from, and its log."""

    model: TinyGPT
    shape: Shape
    seed: int
    log: TrainingLog


def throughput(logs: Sequence[TrainingLog], peak_flops: float) -> str:
    """One line on how fast ``logs``' runs trained together: tokens/s, GFLOP/s and the
    share of ``peak_flops`` (see :func:`emergence.model.matmul_peak_flops`). Introduced in
    the chapter 'Emergence with scale' (emergence-with-scale)."""
    if not logs or peak_flops <= 0:
        raise ValueError("need at least one log and a positive peak")
    tokens = sum(log.tokens for log in logs)
    seconds = sum(log.seconds for log in logs)
    flops = sum(training_flops(log.n_parameters, log.tokens) for log in logs) / seconds
    return (f"{tokens / seconds:>9,.0f} tokens/s, {flops / 1e9:6.2f} GFLOP/s = "
            f"{flops / peak_flops:6.1%} of the matmul peak")


def _schedule(steps: int, warmup_steps: int) -> Callable[[int], float]:
    # linear warm-up, then linear decay to a tenth: stable short runs at every size
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 1.0 - 0.9 * (step - warmup_steps) / max(1, steps - warmup_steps)

    return factor


def _optimiser(parameters, steps: int, lr: float, weight_decay: float, warmup_steps: int):
    # one place for the optimiser, so that train and train_family cannot drift apart
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(steps, warmup_steps))


def _record_evaluation(log: TrainingLog, model: TinyGPT,
                       evaluate: Callable[[TinyGPT], Scores], step: int) -> None:
    """Score ``model`` in eval mode after ``step`` (1-based) into ``log``; the caller puts
    the model back in training mode if it trains it further."""
    model.eval()
    with torch.inference_mode():
        log.evals.append(evaluate(model))
    log.eval_steps.append(step)


def _check(steps: int, lr: float, seeds: Sequence[int], eval_steps: Sequence[int],
           tasks: Sequence[Task] | None = None) -> None:
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not seeds or min(seeds) < 0:
        raise ValueError(f"seeds must be non-negative integers, got {list(seeds)}")
    members = list(zip(map(id, tasks), seeds)) if tasks is not None else list(seeds)
    if len(set(members)) != len(members):
        raise ValueError(f"two members would train the same task from the same seed: "
                         f"seeds {list(seeds)}")
    if any(not 1 <= s <= steps for s in eval_steps):
        raise ValueError(f"eval_steps must lie in 1..{steps}")


def train_family(
    task: Task | Sequence[Task],
    shape: Shape,
    seeds: Sequence[int],
    steps: int,
    *,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    warmup_steps: int = 0,
    eval_steps: Sequence[int] = (),
    eval_fn: Callable[[TinyGPT], Scores]
    | Sequence[Callable[[TinyGPT], Scores]] | None = None,
    description: str = "training",
) -> list[Run]:
    """Train one model of ``shape`` per seed on ``task``, all at once; return their runs.

    Model ``i`` is initialised after ``torch.manual_seed(seeds[i])`` and trained on
    ``task.batches(batch_size, seeds[i])`` with AdamW (learning rate warmed up linearly for
    ``warmup_steps``, then decayed linearly to a tenth). Its losses equal those of
    :func:`train` with the same seed to float32 precision: AdamW works element by element,
    so stacking the weights changes nothing but the order of additions. ``eval_fn``
    (default ``task.evaluate``) is called after each step in ``eval_steps`` (1-based).

    ``task`` may also be a list, one task per seed, and ``eval_fn`` one function per
    member: the members of a sweep over data (the same shape and steps on different training
    sets) then train as one family. Their tasks must give batches of one shape.
    Introduced in the chapter 'Emergence with scale' (emergence-with-scale-training).
    """
    tasks = list(task) if isinstance(task, Sequence) else None
    if tasks is not None and len(tasks) != len(seeds):
        raise ValueError(f"one task per seed: got {len(tasks)} tasks and {len(seeds)} seeds")
    _check(steps, lr, seeds, eval_steps, tasks)
    tasks = tasks or [task] * len(seeds)
    evaluators = (list(eval_fn) if isinstance(eval_fn, Sequence)
                  else [eval_fn or member.evaluate for member in tasks])
    if len(evaluators) != len(seeds):
        raise ValueError(f"one eval_fn per member: got {len(evaluators)} for {len(seeds)}")
    models = []
    for member, seed in zip(tasks, seeds):
        torch.manual_seed(seed)
        models.append(member.model(shape))
    params = family.stack(models)
    config = models[0].config
    sources = [member.batches(batch_size, seed) for member, seed in zip(tasks, seeds)]
    logs = [TrainingLog(count_parameters(model)) for model in models]
    wanted = set(eval_steps)
    optimizer, scheduler = _optimiser(params.values(), steps, lr, weight_decay, warmup_steps)
    for step in tqdm(range(steps), desc=description, leave=False):
        batches = [source(step) for source in sources]
        if len({ids.shape for ids, _ in batches}) > 1:
            raise ValueError("the members' tasks give batches of different shapes: "
                             f"{sorted({tuple(ids.shape) for ids, _ in batches})}")
        input_ids = torch.stack([ids for ids, _ in batches])
        labels = torch.stack([target for _, target in batches])
        started = time.perf_counter()
        losses = family.family_loss(params, input_ids, labels, config)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()
        scheduler.step()
        share = (time.perf_counter() - started) / len(seeds)
        for log, loss in zip(logs, losses.tolist()):
            log.losses.append(loss)
            log.seconds += share
            log.tokens += input_ids[0].numel()
        if step + 1 in wanted:
            family.unstack(params, models)
            for model, log, evaluate in zip(models, logs, evaluators):
                _record_evaluation(log, model, evaluate, step + 1)
    family.unstack(params, models)
    for model in models:
        model.eval()
    return [Run(model, shape, seed, log) for model, seed, log in zip(models, seeds, logs)]


def train(
    task: Task,
    shape: Shape,
    steps: int,
    *,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    warmup_steps: int = 0,
    eval_steps: Sequence[int] = (),
    eval_fn: Callable[[TinyGPT], Scores] | None = None,
    description: str = "training",
) -> Run:
    """Train one model of ``shape`` on ``task`` from ``seed``, with the model's own forward pass.

    The same run as ``train_family(task, shape, [seed], ...)[0]`` (the reference that
    :func:`train_family` is tested against); see there for the arguments. Introduced in the
    chapter 'Emergence with scale' (emergence-with-scale-training).
    """
    _check(steps, lr, [seed], eval_steps)
    torch.manual_seed(seed)
    model = task.model(shape)
    source = task.batches(batch_size, seed)
    log = TrainingLog(count_parameters(model))
    evaluate = eval_fn or task.evaluate
    wanted = set(eval_steps)
    optimizer, scheduler = _optimiser(model.parameters(), steps, lr, weight_decay, warmup_steps)
    model.train()
    for step in tqdm(range(steps), desc=description, leave=False):
        input_ids, labels = source(step)
        started = time.perf_counter()
        loss = model(input_ids=input_ids, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        log.seconds += time.perf_counter() - started
        log.tokens += input_ids.numel()
        log.losses.append(loss.item())
        if step + 1 in wanted:
            _record_evaluation(log, model, evaluate, step + 1)
            model.train()
    model.eval()
    return Run(model, shape, seed, log)
