"""Accumulated AGD over the breasts imaged only: a one-sided exam is not halved by a breast given as 0."""

from __future__ import annotations

import pytest

from copydicom_provider.records.breasts import agd_over_imaged_breasts
from copydicom_provider.records.dose import dose_records
from copydicom_provider.records.stream import parse_header
from copydicom_provider.testing.dose_sr import to_bytes
from copydicom_provider.testing.dose_sr_mammo import make_mammo_dose_sr


def records(ds):
    report, *events = dose_records(parse_header(to_bytes(ds)))  # as the job reads it, from the file
    return report, events


@pytest.mark.parametrize("unimaged_as_zero", [True, False], ids=["the other breast as 0", "the other left out"])
def test_a_one_sided_exam_takes_the_imaged_breast_only(unimaged_as_zero):
    ds, truth = make_mammo_dose_sr(seed=1, views=("RCC", "RMLO"), unimaged_as_zero=unimaged_as_zero)
    report, events = records(ds)
    (right,) = truth["agd_per_breast"].values()
    assert report["AccumulatedAverageGlandularDose"] == right == truth["agd"]
    assert report["AccumulatedAverageGlandularDose_RightBreast"] == right
    assert "AccumulatedAverageGlandularDose_LeftBreast" not in report
    assert "AccumulatedAverageGlandularDose_count" not in report
    assert report["BreastsImaged"] == "Right breast" and report["AccumulatedAverageGlandularDose_unit"] == "mGy"
    assert [e["Laterality"] for e in events] == ["Right", "Right"]
    assert [e["AverageGlandularDose"] for e in events] == [e["agd"] for e in truth["events"]]


def test_a_two_sided_exam_averages_both_breasts():
    ds, truth = make_mammo_dose_sr(seed=2)
    report, events = records(ds)
    left, right = truth["agd_per_breast"]["Left breast"], truth["agd_per_breast"]["Right breast"]
    assert report["AccumulatedAverageGlandularDose"] == pytest.approx(truth["agd"]) == pytest.approx((left + right) / 2)
    assert (report["AccumulatedAverageGlandularDose_min"], report["AccumulatedAverageGlandularDose_max"]) == (
        min(left, right), max(left, right))
    assert report["AccumulatedAverageGlandularDose_count"] == 2
    assert report["BreastsImaged"] == ["Left breast", "Right breast"] and len(events) == 4


def test_without_lateralities_in_the_events_a_breast_at_zero_counts_as_not_imaged():
    report = {"AccumulatedAverageGlandularDose": 1.1, "AccumulatedAverageGlandularDose_LeftBreast": 0,
              "AccumulatedAverageGlandularDose_RightBreast": 2.2, "AccumulatedAverageGlandularDose_min": 0,
              "AccumulatedAverageGlandularDose_max": 2.2, "AccumulatedAverageGlandularDose_count": 2,
              "AccumulatedAverageGlandularDose_unit": "mGy"}
    agd_over_imaged_breasts(report, [{"KVP": 28}])
    assert report == {"AccumulatedAverageGlandularDose": 2.2, "AccumulatedAverageGlandularDose_RightBreast": 2.2,
                      "AccumulatedAverageGlandularDose_unit": "mGy", "BreastsImaged": "Right breast"}


def test_reports_without_per_breast_values_or_with_a_contradiction_are_left_as_they_are():
    plain = {"AccumulatedAverageGlandularDose": 1.5}
    agd_over_imaged_breasts(plain, [{"Laterality": "Left"}])
    assert plain == {"AccumulatedAverageGlandularDose": 1.5}
    odd = {"AccumulatedAverageGlandularDose": 1.0, "AccumulatedAverageGlandularDose_RightBreast": 1.0}
    agd_over_imaged_breasts(odd, [{"Laterality": "Left"}])  # the events name a breast given no dose
    assert odd == {"AccumulatedAverageGlandularDose": 1.0, "AccumulatedAverageGlandularDose_RightBreast": 1.0}
    both = {"AccumulatedAverageGlandularDose": 1.0, "AccumulatedAverageGlandularDose_LeftBreast": 0.8,
            "AccumulatedAverageGlandularDose_RightBreast": 1.2}
    agd_over_imaged_breasts(both, [{"Laterality": ["Right and left"]}])
    assert both["AccumulatedAverageGlandularDose"] == 1 and both["BreastsImaged"] == ["Left breast", "Right breast"]


def test_a_breast_whose_dose_is_kept_unconverted_leaves_no_mean_that_would_pass_for_both():
    """Both breasts imaged, the left's accumulated AGD written without a unit: no AGD over the right alone."""
    ds, truth = make_mammo_dose_sr(seed=1)
    left = next(item for item in _items(ds.ContentSequence) if item.ConceptNameCodeSequence[0].CodeValue == "111637"
                and item.ContentSequence[0].ConceptCodeSequence[0].CodeMeaning == "Left breast")
    del left.MeasuredValueSequence[0].MeasurementUnitsCodeSequence
    report, _ = records(ds)
    assert "AccumulatedAverageGlandularDose" not in report and "BreastsImaged" not in report
    assert report["AccumulatedAverageGlandularDose_RightBreast"] == truth["agd_per_breast"]["Right breast"]
    assert report["AccumulatedAverageGlandularDose_Unconverted_LeftBreast"] == truth["agd_per_breast"]["Left breast"]
    partial = {"AccumulatedAverageGlandularDose": 1.2, "AccumulatedAverageGlandularDose_RightBreast": 1.2}
    agd_over_imaged_breasts(partial, [{"Laterality": "Left"}, {"Laterality": "Right"}])  # no left dose at all
    assert partial == {"AccumulatedAverageGlandularDose": 1.2, "AccumulatedAverageGlandularDose_RightBreast": 1.2}


def _items(items):
    for item in items:
        if item.get("ConceptNameCodeSequence"):
            yield item
        yield from _items(item.get("ContentSequence", []))
