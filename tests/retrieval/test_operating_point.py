"""The class threshold for a stated false-alarm rate, from normal scores only (conformal quantile)."""

import numpy as np
import pytest

from retrieval.calibration import Calibration, conformal_rank, expected_overkill, threshold_at_overkill
from retrieval.config import CalibrationConfig


def test_rank_is_the_finite_sample_corrected_quantile():
    assert conformal_rank(99, 0.02) == 98          # ceil(100 * 0.98) = 98
    assert conformal_rank(64, 0.02) == 64          # ceil(63.7) = 64: the maximum
    assert conformal_rank(10, 0.02) == 10          # too few scores: capped at the maximum
    assert conformal_rank(999, 0.1) == 900
    assert expected_overkill(99, 98) == pytest.approx(0.02)
    assert expected_overkill(10, 10) == pytest.approx(1 / 11)


def test_threshold_is_a_score_of_the_set_and_says_what_it_can_promise():
    scores = np.arange(1.0, 100.0)                 # 99 distinct normal scores 1..99
    threshold, mean, std, promised = threshold_at_overkill(scores[::-1], 0.02)
    assert threshold == 98.0 and mean == pytest.approx(50.0) and std > 0
    assert promised == pytest.approx(0.02)
    small, _, _, promised_small = threshold_at_overkill(np.array([3.0, 1.0, 2.0]), 0.02)
    assert small == 3.0 and promised_small == pytest.approx(0.25)   # only 1 / (n + 1) is possible


@pytest.mark.parametrize("target", [0.02, 0.05, 0.1])
def test_new_normals_exceed_it_at_about_the_stated_rate(target):
    """Normal-only data: calibrate on n scores, count false alarms on fresh normals from the same law."""
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(400):
        threshold, *_ = threshold_at_overkill(rng.gamma(4.0, 1.0, 199), target)
        rates.append((rng.gamma(4.0, 1.0, 500) > threshold).mean())
    assert np.mean(rates) <= target + 0.003
    assert np.mean(rates) >= target - 1 / 200 - 0.003


def test_the_record_carries_the_operating_point_and_old_records_still_load():
    old = dict(class_name="c", threshold=1.0, mean=0.5, std=0.1, n_scored=64, n_references=80,
               fingerprint="f", settings="s")
    assert Calibration(**old).target_overkill is None
    record = Calibration(**old, target_overkill=0.02, expected_overkill=1 / 65)
    assert record.to_dict()["target_overkill"] == 0.02 and record.to_dict()["n_scored"] == 64
    assert CalibrationConfig().target_overkill == 0.02


def test_the_default_rests_the_threshold_on_enough_normals_to_hold_two_percent():
    """From 64 normals a 2 % threshold is their maximum: its true overkill swings from 0.1 % to over 4 %
    with the sample (5th-95th percentile; ELPV poly: 7 % measured). The default scores up to 512 normals,
    which keeps that spread within the +-3 points issue 9 asks for."""
    rng = np.random.default_rng(0)

    def spread(n):
        rates = [(rng.gamma(4.0, 1.0, 4000) > threshold_at_overkill(rng.gamma(4.0, 1.0, n), 0.02)[0]).mean()
                 for _ in range(300)]
        return np.percentile(rates, 5), np.percentile(rates, 95)

    low64, high64 = spread(64)
    low, high = spread(min(CalibrationConfig().max_references, 460))
    assert CalibrationConfig().max_references >= 460          # every reference of an ELPV poly class
    assert high64 > 0.035 and low64 < 0.005                    # the noise of 64
    assert high < 0.035 and low > 0.008                       # within 1.5 points of the target
