"""Encapsulated documents of the audit corpus: a PDF and a CDA that spell the patient's name and MRN.

Why: the de-identifier cannot clean a document's content, so these must be withheld (an emptied
PDF shell counted as copied is a loss dressed as a success). DocumentTitle carries the name too.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from tests.deid_corpus_base import KOWALCZYK, STUDY_DATE, base, code

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA = "1.2.840.10008.5.1.4.1.1.104.2"


def _pdf(text: str) -> bytes:
    """A one-page PDF that shows ``text`` (cross-reference offsets computed, so readers accept it)."""
    stream = f"BT /F1 12 Tf 40 760 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _cda(patient_id: str, name: str) -> bytes:
    family, given = name.split("^")[:2]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3">'
            f'<title>CT thorax report</title><effectiveTime value="{STUDY_DATE}"/>'
            f'<recordTarget><patientRole><id extension="{patient_id}" root="2.16.840.1.113883.19.5"/>'
            f'<patient><name><given>{given}</given><family>{family}</family></name>'
            f'<birthTime value="19610723"/></patient></patientRole></recordTarget>'
            f'<component><nonXMLBody><text>No acute findings.</text></nonXMLBody></component>'
            f'</ClinicalDocument>').encode()


def _document(sop_class: str, marker: int, key: str, mime: str, document: bytes) -> Dataset:
    ds = base(sop_class, "DOC", KOWALCZYK, key=key, marker=marker)
    ds.ConversionType = "WSD"
    ds.ContentDate, ds.ContentTime, ds.AcquisitionDateTime = STUDY_DATE, "094107", STUDY_DATE + "094107"
    ds.DocumentTitle = f"CT thorax report {KOWALCZYK.family} {KOWALCZYK.patient_id}"
    ds.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic imaging report")]
    ds.MIMETypeOfEncapsulatedDocument = mime
    ds.EncapsulatedDocument = document + (b"\0" if len(document) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(document)
    return ds


def encapsulated_pdf(marker: int, burned_in_annotation: str | None = None) -> Dataset:
    ds = _document(ENCAPSULATED_PDF, marker, f"pdf-{burned_in_annotation}", "application/pdf",
                   _pdf(f"Report for {KOWALCZYK.name} {KOWALCZYK.patient_id} born 23.07.1961"))
    if burned_in_annotation is not None:
        ds.BurnedInAnnotation = burned_in_annotation
    return ds


def encapsulated_cda(marker: int) -> Dataset:
    ds = _document(ENCAPSULATED_CDA, marker, "cda", "text/XML", _cda(KOWALCZYK.patient_id, KOWALCZYK.name))
    ds.HL7InstanceIdentifier = f"{KOWALCZYK.patient_id}^2.16.840.1.113883.19.5"
    return ds
