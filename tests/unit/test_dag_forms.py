"""The trigger forms: every field of every DAG has help text, and the time fields refuse bad formats.

The DAG files are parsed by Airflow's DagBag (no metadata database needed); the formats are
checked by Airflow's own ``Param`` validation, the one a trigger (form, REST API, CLI) goes through.
"""

from __future__ import annotations

import pytest

from copydicom_provider.testing.dagbag import DagBag
from tests.conftest import REPO_ROOT

BAG = DagBag(dag_folder=str(REPO_ROOT / "dags"))
DAGS = dict(BAG.dags)


def test_every_dag_file_gives_its_dag() -> None:
    assert not BAG.import_errors, BAG.import_errors
    assert {"copydicom_replicate", "copydicom_monitor", "copydicom_replicate_tags", "copydicom_conditional_replicate",
            "copydicom_dose_report"} <= set(DAGS)


@pytest.mark.parametrize("dag_id", sorted(DAGS))
def test_every_param_has_a_title_and_a_description(dag_id: str) -> None:
    params = DAGS[dag_id].params
    bare = [name for name in params if not params.get_param(name).description]
    untitled = [name for name in params if not params.get_param(name).schema.get("title")]
    assert not bare and not untitled, f"{dag_id}: no description {bare}, no title {untitled}"


@pytest.mark.parametrize("dag_id", ["copydicom_replicate", "copydicom_replicate_tags"])
def test_the_window_fields_refuse_bad_formats(dag_id: str) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    params = DAGS[dag_id].params
    for name in ("since", "until"):
        for good in (None, "2026-11-29T10:00:00Z", "2026-11-29T10:00", "2026-11-29 10:00:00.5+01:00", "2026-11-29"):
            assert params.get_param(name).resolve(good) == good
        for bad in ("29/11/2026", "yesterday", "2026-11-29T10", "2026-11-29T10:00:00 UTC"):
            with pytest.raises(ParamValidationError):
                params.get_param(name).resolve(bad)
    for name in ("study_date_from", "study_date_to"):
        assert params.get_param(name).resolve("2024-03-01") == "2024-03-01"
        for bad in ("20240301", "01.03.2024", "2024-03-01T00:00"):
            with pytest.raises(ParamValidationError):
                params.get_param(name).resolve(bad)
