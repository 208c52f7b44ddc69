"""DAG ``copydicom_conditional_replicate``: feed a research store with what a Splunk search selects."""

from __future__ import annotations

from airflow.sdk import Param

from copydicom_provider.assets import SPLUNK_TAGS
from copydicom_provider.dag_building.job_dag import from_params, job_dag
from copydicom_provider.operators.conditional_replicate import ConditionalReplicateOperator

DOC = """
### Copy what the index selects

Asks Splunk for instances (a query over the records `copydicom_replicate_tags` writes, e.g.
`SeriesDescription="Dose Record"` or `Modality=CT StationName=CT2`), then copies those the
destination lacks, through the same planner and transfer as `copydicom_replicate`.

* Runs whenever `copydicom_replicate_tags` has indexed a new interval (asset `copydicom://splunk/tags`),
  and by hand with the form below.
* **Asset-triggered runs** (no human in the loop) always de-identify, and search only what Splunk
  indexed since the asset's previous update (`_indextime`, from the windows the tags runs write on
  their asset events), not all time: what a failed tags run indexed is picked up by the next one. A destination
  connection without a pseudonym key (extra `pseudonym_secret`) fails the run, naming the connection.
* **Manual runs** take the form; `De-identify` is on by default. `earliest`/`latest` bound Splunk's
  `_time` (the study date and time); empty means all time.
* The filter is a filter only: no pipes, subsearches, macros or `index=`/`earliest=` terms. Full SPL
  goes in `Full SPL (trusted)`, which runs as written with the Splunk connection's rights.
* De-identification: PS3.15 Annex E basic profile at every depth (keyed pseudonyms and UIDs, one
  keyed date shift per patient, SR content cleaned); secondary captures, PDFs and videos that may
  carry burned-in text are withheld. See docs/deidentification.md.
* A query Splunk rejects fails the run with Splunk's message; a query that selects nothing is a
  green run that copies nothing.
"""

PARAMS = {
    "query": Param('SeriesDescription="Dose Record"', type=["null", "string"], title="Splunk filter",
                   description="A filter over the indexed tags, e.g. Modality=SR StationName=CT2 "
                               "(no pipes, no index=)"),
    "spl": Param(None, type=["null", "string"], title="Full SPL (trusted)",
                 description="Runs as written instead of the filter; must return OrthancInstanceID/SeriesID/StudyID"),
    "source_conn_id": Param("orthanc_source", type="string", title="Source connection",
                            description="Airflow connection (type orthanc) holding the instances the search selects"),
    "destination_conn_id": Param("orthanc_research", type="string", title="Destination connection",
                                 description="Airflow connection (type orthanc) of the research store to copy to; "
                                             "its 'Pseudonym key' keys de-identification"),
    "splunk_conn_id": Param("splunk_default", type="string", title="Splunk connection",
                            description="Airflow connection (type splunk) with search credentials"),
    "index": Param(None, type=["null", "string"], title="Splunk index", description="Overrides the connection's index"),
    "earliest": Param(None, type=["null", "string"], title="Earliest (Splunk _time)",
                      description="ISO 8601 or Splunk time such as -30d; empty: all time"),
    "latest": Param(None, type=["null", "string"], title="Latest (Splunk _time, exclusive)",
                    description="ISO 8601 or Splunk time such as -1d, after Earliest; empty: now"),
    "mode": Param("rest", type="string", enum=["rest", "peer"], title="Transfer mode",
                  description="rest: the worker streams (and de-identifies) each file; peer: the source pushes "
                              "through an Orthanc peer job (De-identify off only)"),
    "anonymize": Param(True, type="boolean", title="De-identify",
                       description="PS3.15 Annex E profile, keyed by the destination connection's pseudonym key "
                                   "(rest mode only)"),
    "retain_device_identity": Param(False, type="boolean", title="Retain device identity",
                                    description="Keep station name and device serial (dose audits per scanner)"),
    "allow_burned_in": Param(False, type="boolean", title="Send possible burned-in text",
                             description="Also send what may show a name in its pixels: ultrasound, photographs, "
                                         "secondary captures, XA/RF, unknown classes and BurnedInAnnotation=YES "
                                         "(encapsulated documents are never sent)"),
    "dry_run": Param(False, type="boolean", title="Dry run",
                     description="Search and count what would be copied; copy nothing"),
    "verify": Param(False, type="boolean", title="Verify", description="Compare MD5 of what landed"),
}

with job_dag(
    "copydicom_conditional_replicate",
    description="Copy the DICOM instances a Splunk search selects",
    schedule=[SPLUNK_TAGS],
    params=PARAMS,
    doc_md=DOC,
    tags=["dicom", "orthanc", "splunk", "copydicom"],
):
    ConditionalReplicateOperator(
        task_id="copy",
        inlets=[SPLUNK_TAGS],  # reads the asset's previous update: the start of an incremental search
        **from_params("query", "spl", "source_conn_id", "destination_conn_id", "splunk_conn_id", "index", "earliest",
                      "latest", "mode", "anonymize", "retain_device_identity", "allow_burned_in", "dry_run", "verify"),
    )
