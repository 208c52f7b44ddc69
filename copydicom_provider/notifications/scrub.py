"""A notification's free text with every secret and patient identifier taken out.

Why here and not only in the tasks: a failure reason is written by whoever raised it, and a mail
leaves the hospital's systems. So the text is scrubbed again on the way out: secrets of the run's
connections and those Airflow's masker knows, URL credentials (``redaction.py``), and what
identifies a patient or a study: DICOM UIDs, Orthanc IDs (hashes of patient and study IDs),
person names in DICOM's ``Family^Given`` form, and any value after a patient's or study's
attribute name (``PatientID=...``, ``"AccessionNumber": "..."``, ``(0010,0020) ...``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from copydicom_provider.redaction import mask_whole, redact_text

log = logging.getLogger(__name__)

#: A DICOM UID: digits in five or more dot-separated parts (an IPv4 address has four).
UID = re.compile(r"(?<![\w.])\d+(?:\.\d+){4,}(?![\w.])")
#: An Orthanc resource ID: five groups of eight hex digits (a hash of the patient's and study's IDs).
ORTHANC_ID = re.compile(r"(?i)(?<![0-9a-f-])[0-9a-f]{8}(?:-[0-9a-f]{8}){4}(?![0-9a-f-])")
#: A person name as DICOM writes it (``DOE^JOHN``, ``Müller^Anna^^Dr``).
PERSON_NAME = re.compile(r"[^\s\"'=:,;()\[\]{}^]*\^[^\s\"',;()\[\]{}]*")
#: Attributes whose values identify a patient or a study; any spelling (``PatientID``, ``patient id``).
_IDENTIFYING = (r"patient[\s_-]*(?:name|id|birth[\s_-]*date|address|telephone[\s_-]*numbers?)"
                r"|other[\s_-]*patient[\s_-]*ids?|accession[\s_-]*number|study[\s_-]*id|issuer[\s_-]*of[\s_-]*patient[\s_-]*id|referring[\s_-]*"
                r"physician[\s_-]*name|institution[\s_-]*name|(?:study|series|sop)[\s_-]*instance[\s_-]*uid"
                r"|00(?:08|10|20)[0-9a-f]{4}")
#: Such an attribute, a separator and its value (quoted, or up to the next punctuation).
IDENTIFYING_VALUE = re.compile(rf"(?i)(?P<name>\b(?:{_IDENTIFYING})\b|\(00(?:08|10|20),[0-9a-f]{{4}}\))"
                               r"(?P<sep>[\"']?\s*[=:]?\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^,;)\]}\n]+)")
#: Connection extras whose names say they are secret (the Splunk connection's HEC token, a key).
SECRET_EXTRA = re.compile(r"(?i)token|password|passwd|secret|key|auth")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without ``secrets`` (standing whole, at Airflow's masking length), URL credentials,
    secrets Airflow's masker holds, and patient or study identifiers."""
    text = mask_whole(text, secrets, min_masked_length())
    text = redact_text(_airflow_redact(text))
    text = IDENTIFYING_VALUE.sub(lambda m: f"{m['name']}{m['sep'] or ' '}<redacted>", text)
    text = UID.sub("<UID>", text)
    text = ORTHANC_ID.sub("<Orthanc ID>", text)
    return PERSON_NAME.sub("<name>", text)


def connection_secrets(params: Mapping[str, Any]) -> list[str]:
    """Passwords and secret extras of every connection the run's parameters name (``*conn_id``)."""
    secrets: list[str] = []
    for name, conn_id in params.items():
        if not name.endswith("conn_id") or not isinstance(conn_id, str) or not conn_id:
            continue
        try:
            from airflow.sdk import Connection

            connection = Connection.get(conn_id)
        except Exception as error:  # an undefined connection has no secret to hide
            log.debug("connection %s not read for scrubbing: %s", conn_id, type(error).__name__)
            continue
        secrets += [connection.password] if connection.password else []
        extras = connection.extra_dejson if isinstance(connection.extra_dejson, dict) else {}
        secrets += [str(value) for key, value in extras.items() if SECRET_EXTRA.search(key) and value]
    return secrets


def min_masked_length() -> int:
    """Airflow's ``[logging] min_length_masked_secret``: shorter secrets are not masked (they would be
    starred all over ordinary words), as Airflow's masker does not mask them."""
    from airflow.configuration import conf

    return conf.getint("logging", "min_length_masked_secret", fallback=5)


def _airflow_redact(text: str) -> str:
    """``text`` through Airflow's own masker (the secrets it was told of), wherever this Airflow keeps it."""
    try:
        from airflow.sdk._shared.secrets_masker import redact  # Airflow 3.2+
    except ImportError:
        from airflow.sdk.execution_time.secrets_masker import redact  # type: ignore[no-redef]  # Airflow 3.1
    return str(redact(text))
