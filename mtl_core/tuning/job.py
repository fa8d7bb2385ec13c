"""A study as a kind of ``Work``: a Tuner's trials run by a job, with progress "trial k of N" and stop.

The Tuner is built in the caller's thread, so bad input (a storage scheme, an empty space, a study whose tasks
differ) raises there as a ConfigError; ``run`` then trains the trials in the job's thread. ``stop`` reaches the
trial in progress at its next epoch (that trial ends as failed, its run as stopped) and no further trial starts.
"""

from __future__ import annotations

from typing import Any

from mtl_core.jobs.work import ProgressCallback, Work
from mtl_core.tuning.study import Tuner, TuneRequest, summary


def trial_stage(k: int, n: int) -> str:
    """The progress label of the ``k``-th trial (1-based) of ``n``."""
    return f"trial {k} of {n}"


class Tuning(Work):
    """``n_trials`` trials of one study; its events are the trials' ``TrialOutcome``; its result ``summary()``."""

    label = "Tuning"

    def __init__(self, request: TuneRequest, frame: Any = None, *,
                 on_progress: ProgressCallback | None = None) -> None:
        super().__init__(on_progress)
        self.tuner = Tuner(request, frame)
        self.request = self.tuner.request
        self._k = 0
        self.tuner.on_epoch = self._epoch

    @property
    def n_trials(self) -> int:
        """How many trials this job runs (other workers may add more to the study)."""
        return self.request.n_trials

    def _epoch(self, epoch: int, epochs: int) -> None:
        n = max(self.n_trials, 1)
        self.report(trial_stage(self._k + 1, n), (self._k + min(epoch / max(epochs, 1), 1.0)) / n)

    def stop(self) -> None:
        """Stop the trial in progress at its next epoch and start no more."""
        super().stop()
        self.tuner.stop()

    def run(self) -> dict:
        """Run the trials one after another; returns the study's summary (front, best per task)."""
        n = self.n_trials
        for k in range(n):
            if self.stop_requested:
                break
            self._k = k
            self.report(trial_stage(k + 1, n), k / n)
            self.emit(self.tuner.run_trial())
        if not self.stop_requested:
            self.finish()
        return summary(self.tuner.study, self.tuner.objectives)
