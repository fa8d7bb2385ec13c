"""A pruning rule for multi-objective studies: stop a trial the whole current front beats at the same epoch.

Optuna's pruners are single-objective: ``Trial.report`` and ``Trial.should_prune`` raise NotImplementedError in a
multi-objective study. So trials record their per-task intermediate values themselves (a user attribute,
``intermediate``: ``{epoch: [value per objective]}``), and this rule decides on them:

At a checkpoint epoch ``e`` past the warm-up, take the intermediate vectors at ``e`` of the finished trials that
reached ``e`` (at least ``min_trials`` of them), keep their Pareto front F, and its worst value in each objective
(the front's nadir point). A trial is pruned when it is worse than that nadir in *every* objective: it is then
dominated by every point of F at the same stage of training, so it is very unlikely to end on the front. The
rule is deliberately conservative (a trial that is good at one task survives), which is what a trade-off
search wants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mtl_core.tuning.objectives import oriented, pareto_indices


def checkpoints(epochs: int, n_reports: int = 10) -> list[int]:
    """The epochs at which a trial reports (and may be pruned): about ``n_reports`` evenly spaced, last included."""
    step = max(1, epochs // max(n_reports, 1))
    marks = list(range(step, epochs + 1, step))
    if not marks or marks[-1] != epochs:
        marks.append(epochs)
    return marks


@dataclass
class FrontPruner:
    """The rule above, over the finished trials' intermediate values known when the trial started."""

    lower_is_better: Sequence[bool]
    #: ``{epoch: [oriented vector of each finished trial that reached it]}``.
    history: dict[int, list[list[float]]] = field(default_factory=dict)
    min_trials: int = 4
    #: No pruning before this fraction of the epochs (early losses say little about the end).
    warmup: float = 0.25

    def add_trial(self, intermediate: dict) -> None:
        """Add one finished trial's ``{epoch: values}`` (epoch keys may be strings, as JSON stores them)."""
        for epoch, values in intermediate.items():
            self.history.setdefault(int(epoch), []).append(oriented(values, self.lower_is_better))

    def nadir(self, epoch: int) -> list[float] | None:
        """The front's worst value per objective at ``epoch``, or None with too few trials there."""
        points = self.history.get(epoch, [])
        if len(points) < self.min_trials:
            return None
        front = [points[i] for i in pareto_indices(points)]
        return [max(p[k] for p in front) for k in range(len(front[0]))]

    def should_prune(self, epoch: int, epochs: int, values: Sequence[float]) -> bool:
        """Whether a trial with these (raw) values at ``epoch`` of ``epochs`` is worse than the front everywhere."""
        if epoch >= epochs or epoch < self.warmup * epochs:
            return False
        nadir = self.nadir(epoch)
        if nadir is None:
            return False
        mine = oriented(values, self.lower_is_better)
        return all(v > n for v, n in zip(mine, nadir))
