"""A seeded multi-objective sampler whose draws depend on (seed, trial number), so parallel workers don't collide.

Optuna's TPE supports several objectives (MOTPE) and, with ``constant_liar``, counts running trials of other
workers. But a seeded sampler's random stream lives in the process: two workers started with the same seed draw
the same parameters for their first trials. Here each trial gets its own ``TPESampler`` seeded from the study
seed and the trial number (TPE keeps no other state between trials), so a single worker is reproducible and
workers sharing a study draw different parameters.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

#: Random trials before TPE models the front (Optuna's default is 10; small studies should start modelling early).
N_STARTUP_TRIALS = 8


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial ``number`` of a study seeded ``seed`` (a fixed mix, stable across processes)."""
    return (seed * 1_000_003 + number * 7_919 + 17) % (2**31 - 1)


class TrialSeededSampler(BaseSampler):
    """Multivariate TPE with constant liar, reseeded per trial from ``(seed, trial.number)``."""

    def __init__(self, seed: int = 0, n_startup_trials: int = N_STARTUP_TRIALS) -> None:
        self.seed = seed
        self.n_startup_trials = n_startup_trials
        self._samplers: dict[int, TPESampler] = {}

    def _for(self, trial: FrozenTrial) -> TPESampler:
        sampler = self._samplers.get(trial.number)
        if sampler is None:
            # Only the running trials' samplers are kept; a finished trial's is never asked again.
            if len(self._samplers) > 64:
                self._samplers.clear()
            sampler = TPESampler(seed=trial_seed(self.seed, trial.number), multivariate=True, constant_liar=True,
                                 n_startup_trials=self.n_startup_trials)
            self._samplers[trial.number] = sampler
        return sampler

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """The TPE's joint search space."""
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """Joint TPE draws (empty during the start-up trials)."""
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        """One parameter outside the joint space (conditional ones, start-up trials)."""
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Delegate to the trial's TPE."""
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: list[float] | None) -> None:
        """Delegate to the trial's TPE, then forget it."""
        self._for(trial).after_trial(study, trial, state, values)
        self._samplers.pop(trial.number, None)

    def reseed_rng(self) -> None:
        """Nothing to reseed: every trial's stream is derived from the seed and its number."""


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO on stderr; the CLI prints its own progress."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
