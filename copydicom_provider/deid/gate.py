"""Which instances may leave de-identified: an allow-list, because the walker never touches pixels.

Why an allow-list: a deny-list of SOP classes lets through whatever it forgot (an ultrasound, a
photograph, a new class), and those are exactly the images with names drawn into their pixels. An
instance goes out only when it is known to carry no burned-in text: its ``BurnedInAnnotation`` is
``NO`` (and, for camera classes, ``RecognizableVisualFeatures`` is ``NO``), or its SOP class has no
burned-in text by construction (cross-sectional images the scanner reconstructed, whose ImageType
does not say a workstation made them; structured reports, presentation states, segmentations, RT
objects). Encapsulated
documents never go: their content (a PDF, a CDA, a mesh) cannot be cleaned, and emptying it would
copy a shell. ``allow_burned_in`` lets the user send the rest, on their word, per run.
"""

from __future__ import annotations

from typing import Any

from pydicom.uid import UID

_STORAGE = "1.2.840.10008.5.1.4.1.1."
#: SOP classes whose instances carry no burned-in text by construction (PS3.4 B.5 names).
CLEAN_BY_CONSTRUCTION = frozenset(_STORAGE + suffix for suffix in (
    "2", "2.1", "2.2",  # CT, Enhanced CT, Legacy Converted Enhanced CT
    "4", "4.1", "4.2", "4.3", "4.4",  # MR, Enhanced MR, MR Spectroscopy, Enhanced MR Color, Legacy Converted
    "128", "128.1", "130",  # PET, Legacy Converted Enhanced PET, Enhanced PET
    "20",  # Nuclear Medicine
    "11.1", "11.2", "11.3", "11.4",  # Grayscale, Color, Pseudo-Color, Blending Softcopy Presentation State
    "66.1", "66.2", "66.3", "66.4", "66.5", "67",  # registrations, fiducials, segmentations, RWV mapping
    "481.2", "481.3", "481.5", "481.8",  # RT Dose, RT Structure Set, RT Plan, RT Ion Plan
    "88.11", "88.22", "88.33", "88.34", "88.35", "88.40", "88.50", "88.59", "88.65", "88.67", "88.68",
    "88.69", "88.70", "88.71", "88.72", "88.73", "88.74", "88.75", "88.76",  # structured reports, KOS
))
#: Encapsulated PDF, CDA, STL, OBJ, MTL: a document the profile cannot read, never sent.
ENCAPSULATED_DOCUMENTS = frozenset(_STORAGE + f"104.{n}" for n in range(1, 6))
#: Visible-light classes (endoscopy, microscopy, photographs, video, ophthalmic, dermoscopy): a camera may
#: show a face or a tattoo, so they also need RecognizableVisualFeatures=NO.
CAMERA_CLASSES = _STORAGE + "77.1."
#: The image classes among those clean by construction: a workstation can still save a screen
#: (a dose page, a 3D view with text) under them, which ImageType says is not an acquisition.
RECONSTRUCTED_IMAGES = frozenset(_STORAGE + suffix for suffix in (
    "2", "2.1", "2.2", "4", "4.1", "4.3", "4.4", "128", "128.1", "130", "20"))
#: ImageType values that mark an image a workstation made rather than the scanner reconstructed.
NOT_ACQUIRED = frozenset({"SECONDARY", "SCREEN SAVE", "SCREENSHOT", "SCREEN_SAVE"})


def withheld_reason(tags: dict[str, Any], allow_burned_in: bool = False) -> str | None:
    """Why an instance (its simplified tags, or any keyword mapping) must not go out, or None."""
    sop_class = str(tags.get("SOPClassUID") or "").strip()
    if sop_class in ENCAPSULATED_DOCUMENTS:
        return f"{class_name(sop_class)}: an encapsulated document cannot be de-identified"
    if allow_burned_in:
        return None
    burned_in, visual = _flag(tags, "BurnedInAnnotation"), _flag(tags, "RecognizableVisualFeatures")
    if burned_in == "YES":
        return "BurnedInAnnotation=YES"
    if visual == "YES":
        return "RecognizableVisualFeatures=YES"
    if sop_class.startswith(CAMERA_CLASSES):
        if burned_in == "NO" and visual == "NO":
            return None
        return f"{class_name(sop_class)} without BurnedInAnnotation=NO and RecognizableVisualFeatures=NO"
    if burned_in == "NO":
        return None
    if sop_class in RECONSTRUCTED_IMAGES and (made := _image_type(tags) & NOT_ACQUIRED):
        return f"{class_name(sop_class)} of ImageType {'/'.join(sorted(made))} without BurnedInAnnotation=NO"
    if sop_class in CLEAN_BY_CONSTRUCTION:
        return None
    return f"{class_name(sop_class)} without BurnedInAnnotation=NO"


def class_name(sop_class: str) -> str:
    """The class's name from the standard's registry, or what it is when the registry has none."""
    if not sop_class:
        return "an instance without SOPClassUID"
    name = UID(sop_class).name
    if name == sop_class:
        return f"unknown SOP class {sop_class}"
    return name.removesuffix(" SOP Class").removesuffix(" Storage")


def _image_type(tags: dict[str, Any]) -> set[str]:
    """ImageType's values, from Orthanc's ``A\\B\\C`` string or a list."""
    value = tags.get("ImageType") or ""
    parts = value if isinstance(value, (list, tuple)) else str(value).split("\\")
    return {str(part).strip().upper() for part in parts}


def _flag(tags: dict[str, Any], keyword: str) -> str:
    return str(tags.get(keyword) or "").strip().upper()
