"""The relatedness study's defaults show the MMoE paper's findings (Ma et al., KDD 2018): (i) hard sharing's gain
over single-task models rises with the tasks' relatedness p and is clearly positive (95 % interval above 0) at
p = 1; (ii) where the tasks are weakly related (p <= 0.5), MMoE does at least as well as hard sharing. (ii) does
not hold at the default scale and is an expected failure until it does.

Slow: it trains the default study (every model, every default p and seed), as the lab's page and
``mtl compare --dataset relatedness`` do. The quick suite skips it: ``python -m pytest -m "not slow and not e2e"``.
"""

from __future__ import annotations

import math
import os
import time

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gains() -> dict[tuple[float, str], dict]:
    from mtl_core.experiments.relatedness_study import DEFAULT_P, DEFAULT_SEEDS, RelatednessStudy

    start = time.perf_counter()
    result = RelatednessStudy(DEFAULT_P, DEFAULT_SEEDS).run()
    # Shown by pytest when a test fails (and with -s): the figures behind the verdicts.
    print(f"default study: {len(result.records)} test losses in {time.perf_counter() - start:.0f} s, "
          f"load average {os.getloadavg()[0]:.1f}\n{result.to_markdown()}")
    assert not result.stopped
    return {(g["p"], g["model"]): g for g in result.gain_spread()}


def test_the_default_study_spans_unrelated_to_identical_tasks_with_several_seeds(gains):
    ps = sorted({p for p, _ in gains})
    assert ps[0] <= 0.0 and ps[-1] == 1.0 and len(ps) >= 3
    assert all(g["seeds"] >= 3 for g in gains.values())


def test_hard_sharing_gains_more_as_tasks_grow_related_and_clearly_helps_at_p_1(gains):
    ps = sorted({p for p, _ in gains})
    hard = [gains[(p, "hard")]["mean"] for p in ps]
    assert all(math.isfinite(g) for g in hard)
    assert hard[-1] > hard[0], f"hard-sharing gain by p {dict(zip(ps, hard))}"
    # Rises: no p gains more than p = 1 does.
    assert max(hard) == hard[-1], f"hard-sharing gain by p {dict(zip(ps, hard))}"
    at_1 = gains[(1.0, "hard")]
    assert at_1["ci"][0] > 0 and at_1["verdict"] == "helps", at_1


# Not at the default scale: with 300 training rows MMoE's gain trails hard sharing's by about 9 points at p = 0 and
# 0.5 (README, "Relatedness lab"); with 900 by 1-2, still behind. Strict: once it passes, the page and README must
# say so.
@pytest.mark.xfail(strict=True, reason="finding (ii) needs more training rows than the default study's 300")
def test_mmoe_does_at_least_as_well_as_hard_sharing_on_weakly_related_tasks(gains):
    low = sorted(p for p, model in gains if model == "mmoe" and p <= 0.5)
    assert low
    for p in low:
        mmoe, hard = gains[(p, "mmoe")], gains[(p, "hard")]
        assert mmoe["mean"] >= hard["mean"], (p, mmoe, hard)
