"""Documents of the audit corpus: a PDF and a CDA that spell the patient's name and MRN, and a verified SR report.

Why: the de-identifier cannot clean an encapsulated document's content, so those must be withheld
(an emptied PDF shell counted as copied is a loss dressed as a success); DocumentTitle carries the
name too. A verified report must be sent with its Type 1C VerifyingObserverSequence and its
Referenced Request's Type 2 attributes still there, cleaned.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.coding import Code

from copydicom_provider.testing.dose_sr import BASIC_TEXT_SR, container, text_item
from tests.support.deid_corpus_base import KOWALCZYK, PHYSICIANS, STUDY_DATE, base, code

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA = "1.2.840.10008.5.1.4.1.1.104.2"


def _pdf(text: str) -> bytes:
    """A one-page PDF that shows ``text`` (cross-reference offsets computed, so readers accept it)."""
    stream = f"BT /F1 12 Tf 40 760 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>"),
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


def verified_report(marker: int) -> Dataset:
    """A Basic Text SR, verified: who verified it, for which request, with the finding naming the patient."""
    ds = base(BASIC_TEXT_SR, "SR", KOWALCZYK, key="sr-verified", study="ct", marker=marker)
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.ContentDate, ds.ContentTime = STUDY_DATE, "120000"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    observer = Dataset()
    observer.VerifyingObserverName = PHYSICIANS["NameOfPhysiciansReadingStudy"]
    observer.VerifyingOrganization = "St Wenceslas General Infirmary"
    observer.VerificationDateTime = STUDY_DATE + "121500"
    observer.VerifyingObserverIdentificationCodeSequence = Sequence([])
    ds.VerifyingObserverSequence = Sequence([observer])
    request = Dataset()
    request.StudyInstanceUID = ds.StudyInstanceUID
    request.ReferencedStudySequence = Sequence([])
    request.AccessionNumber = ds.AccessionNumber
    request.PlacerOrderNumberImagingServiceRequest = "PO-55018"
    request.FillerOrderNumberImagingServiceRequest = "FO-55018"
    request.RequestedProcedureID = "RP-99121"
    request.RequestedProcedureDescription = f"CT thorax for {KOWALCZYK.family}"
    request.RequestedProcedureCodeSequence = Sequence([])
    ds.ReferencedRequestSequence = Sequence([request])
    ds.PerformedProcedureCodeSequence = Sequence([])
    finding = text_item(Code("121071", "DCM", "Finding"), f"Mr {KOWALCZYK.family} ({KOWALCZYK.patient_id}): no nodule")
    root = container(Code("11528-7", "LN", "Radiology Report"), [finding], relationship=None)
    for keyword in ("ValueType", "ConceptNameCodeSequence", "ContinuityOfContent", "ContentSequence"):
        setattr(ds, keyword, root[keyword].value)
    return ds
