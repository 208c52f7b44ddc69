"""Units of dose-report numbers: vendor spelling -> UCUM, and one unit per record key.

Why one unit per key: ``ExposureTime`` arrives in seconds from CT and in milliseconds from
projection X-ray, ``Exposure`` in uAs or mAs; a search that averages a key must not mix them.
Each known key has its unit (:data:`KEY_UNITS`, rendered in docs/dose-records.md); a key not in the
table gets its dimension's unit (:data:`DIMENSION_UNITS`); a unit this module does not know keeps
its (UCUM-normalised) spelling -- except on a key of the table: there a value with no unit or a unit
not known here raises :class:`UnknownUnit`, and the walk keeps it apart (``<Key>_Unconverted``),
because a DAP of 1.323 dGy.cm2 read as Gy.m2 would be 100,000 times too large.
"""

from __future__ import annotations

import re
from decimal import Decimal

from copydicom_provider.records.radiopharmaceutical import RADIOPHARMACEUTICAL_UNITS

__all__ = ["DIMENSION_UNITS", "KEY_UNITS", "UnitError", "UnknownUnit", "key_unit", "needs_unit", "normalise_unit"]

# Gray prefixes as factors to mGy.
_GY_PREFIX = {"": Decimal(1000), "c": Decimal(10), "d": Decimal(100), "m": Decimal(1),
              "u": Decimal("0.001")}
_GY_UNIT = re.compile(r"^([cdmu]?)Gy(?:\.?(cm2|cm|m2))?$")

# UCUM unit -> (dimension, factor to the dimension's unit in DIMENSION_UNITS).
_UNITS: dict[str, tuple[str, Decimal]] = {
    "mGy": ("dose", Decimal(1)),
    "mGy.cm": ("dose-length", Decimal(1)),
    "Gy.m2": ("dose-area", Decimal(1)),
    "Sv": ("effective-dose", Decimal(1000)), "mSv": ("effective-dose", Decimal(1)),
    "uSv": ("effective-dose", Decimal("0.001")),
    "h": ("time", Decimal(3600)), "min": ("time", Decimal(60)), "s": ("time", Decimal(1)),
    "ms": ("time", Decimal("0.001")), "us": ("time", Decimal("0.000001")),
    "kV": ("voltage", Decimal(1)), "V": ("voltage", Decimal("0.001")),
    "A": ("current", Decimal(1000)), "mA": ("current", Decimal(1)),
    "uA": ("current", Decimal("0.001")),
    "A.s": ("charge", Decimal(1000)), "mA.s": ("charge", Decimal(1)),
    "uA.s": ("charge", Decimal("0.001")),
    "m": ("length", Decimal(1000)), "cm": ("length", Decimal(10)), "mm": ("length", Decimal(1)),
    "um": ("length", Decimal("0.001")),
    "m2": ("area", Decimal(1)), "cm2": ("area", Decimal("0.0001")),
    "mm2": ("area", Decimal("0.000001")),
    "deg": ("angle", Decimal(1)),
    "Bq": ("activity", Decimal("0.000001")), "kBq": ("activity", Decimal("0.001")),
    "MBq": ("activity", Decimal(1)), "GBq": ("activity", Decimal(1000)),
    "Ci": ("activity", Decimal(37000)), "mCi": ("activity", Decimal(37)), "uCi": ("activity", Decimal("0.037")),
    "cm3": ("volume", Decimal(1)), "mL": ("volume", Decimal(1)), "L": ("volume", Decimal(1000)),
    "mm3": ("volume", Decimal("0.001")),
    "{pulse}/s": ("rate", Decimal(1)), "/s": ("rate", Decimal(1)), "Hz": ("rate", Decimal(1)),
    "{ratio}": ("ratio", Decimal(1)), "1": ("ratio", Decimal(1)),
}
#: The unit every value of a dimension is converted to (keys not in KEY_UNITS).
DIMENSION_UNITS: dict[str, str] = {
    "dose": "mGy", "dose-length": "mGy.cm", "dose-area": "Gy.m2", "effective-dose": "mSv",
    "time": "s", "voltage": "kV", "current": "mA", "charge": "mA.s", "length": "mm",
    "area": "m2", "angle": "deg", "rate": "/s", "ratio": "{ratio}", "activity": "MBq", "volume": "cm3",
}
# Vendor spellings (after squashing spaces and case of the gray family) -> UCUM.
_ALIASES = {
    "sec": "s", "secs": "s", "seconds": "s", "msec": "ms", "mins": "min",
    "kVp": "kV", "kv": "kV", "KV": "kV", "ma": "mA", "MA": "mA",
    "mAs": "mA.s", "uAs": "uA.s", "As": "A.s", "mA*s": "mA.s", "uA*s": "uA.s",
    "pulse/s": "{pulse}/s", "pulses/s": "{pulse}/s", "{pulses}/s": "{pulse}/s", "p/s": "{pulse}/s",
    "fps": "{pulse}/s", "1/s": "/s", "s-1": "/s",
    "°": "deg", "degree": "deg", "degrees": "deg", "ratio": "{ratio}", "MSV": "mSv",
    "msv": "mSv", "S": "s", "MS": "ms", "MM": "mm", "CM": "cm",
    # thickness "of aluminium/copper" (half value layer, filters): a length all the same
    "ml": "mL", "cc": "cm3", "l": "L", "mbq": "MBq", "MBQ": "MBq", "mci": "mCi", "MCI": "mCi",
    "mm[Al]": "mm", "mmAl": "mm", "mm.Al": "mm", "mm[Cu]": "mm", "mmCu": "mm", "mm.Cu": "mm",
}

_T, _L, _DOSE, _DLP, _DAP, _ANGLE = "s", "mm", "mGy", "mGy.cm", "Gy.m2", "deg"
#: The unit of each known numeric key (every value is converted to it).
KEY_UNITS: dict[str, str] = {
    "DLPTotal": _DLP, "DLPSubTotal": _DLP, "EffectiveDoseTotal": "mSv",
    "ExposureTime": _T, "ScanningLength": _L, "LengthOfReconstructableVolume": _L,
    "ExposedRange": _L, "TopZLocationOfReconstructableVolume": _L,
    "BottomZLocationOfReconstructableVolume": _L, "TopZLocationOfScanningLength": _L,
    "BottomZLocationOfScanningLength": _L, "NominalSingleCollimationWidth": _L,
    "NominalTotalCollimationWidth": _L, "PitchFactor": "{ratio}", "KVP": "kV",
    "TubeCurrent": "mA", "MaxTubeCurrent": "mA", "ExposureTimePerRotation": _T,
    "CTDIvol": _DOSE, "DLP": _DLP, "CTDIfreeair": _DOSE, "EffectiveDose": "mSv",
    "SSDE": _DOSE, "WaterEquivalentDiameter": _L,
    "DLPAlertValue": _DLP, "CTDIvolAlertValue": _DOSE, "AccumulatedDLPForwardEstimate": _DLP,
    "AccumulatedCTDIvolForwardEstimate": _DOSE, "DLPNotificationValue": _DLP,
    "CTDIvolNotificationValue": _DOSE, "DLPForwardEstimate": _DLP, "CTDIvolForwardEstimate": _DOSE,
    "DoseAreaProductTotal": _DAP, "DoseRPTotal": _DOSE, "FluoroDoseAreaProductTotal": _DAP,
    "FluoroDoseRPTotal": _DOSE, "TotalFluoroTime": _T, "AcquisitionDoseAreaProductTotal": _DAP,
    "AcquisitionDoseRPTotal": _DOSE, "TotalAcquisitionTime": _T,
    "AccumulatedAverageGlandularDose": _DOSE, "DoseAreaProduct": _DAP, "DoseRP": _DOSE,
    "EntranceExposureAtRP": _DOSE, "AverageGlandularDose": _DOSE, "HalfValueLayer": _L,
    "PulseRate": "{pulse}/s", "IrradiationDuration": _T, "AverageTubeCurrent": "mA",
    "Exposure": "mA.s", "PulseWidth": "ms", "FocalSpotSize": _L, "CollimatedFieldArea": "m2",
    "CollimatedFieldHeight": _L, "CollimatedFieldWidth": _L, "XRayFilterThicknessMinimum": _L,
    "XRayFilterThicknessMaximum": _L, "PositionerPrimaryAngle": _ANGLE,
    "PositionerSecondaryAngle": _ANGLE, "PositionerPrimaryEndAngle": _ANGLE,
    "PositionerSecondaryEndAngle": _ANGLE, "ColumnAngulation": _ANGLE,
    "TableHeadTiltAngle": _ANGLE, "TableHorizontalRotationAngle": _ANGLE,
    "TableCradleTiltAngle": _ANGLE, "CompressionThickness": _L,
    "DistanceSourceToIsocenter": _L, "DistanceSourceToReferencePoint": _L,
    "DistanceSourceToDetector": _L, "TableLongitudinalPosition": _L,
    "TableLateralPosition": _L, "TableHeightPosition": _L,
    **RADIOPHARMACEUTICAL_UNITS,
}


class UnitError(ValueError):
    """A value's unit cannot be converted to its key's unit."""


class UnknownUnit(UnitError):
    """A key of :data:`KEY_UNITS` got no unit, or one this module does not know: its scale is unknown."""


def is_unity(unit: str) -> bool:
    """``1``, ``{ratio}``, ``ratio``: a unit that says the number has none."""
    return _UNITS.get(normalise_unit(unit)[0], ("",))[0] == "ratio"


def needs_unit(key: str) -> bool:
    """True for a key whose values mean nothing without a unit (a dose, a time); ratios do not need one."""
    target = KEY_UNITS.get(key)
    return target is not None and _UNITS[target][0] != "ratio"


def normalise_unit(unit: str) -> tuple[str, Decimal]:
    """UCUM spelling of a unit and the factor that brings the value to it.

    Doses go to mGy, dose-length products to mGy.cm, dose-area products to Gy.m2 (OpenREM's
    convention): ``mGycm`` -> (``mGy.cm``, 1), ``Gy.cm`` -> (``mGy.cm``, 1000), ``dGy.cm2`` ->
    (``Gy.m2``, 0.00001). Other units get their UCUM spelling (``uAs`` -> ``uA.s``) with factor 1.
    """
    text = unit.strip()
    squashed = re.sub(r"[\s*·\-]+", ".", text).replace("µ", "u").replace("μ", "u")
    squashed = squashed.replace("^2", "2").replace("²", "2")
    match = _GY_UNIT.match(squashed) or _GY_UNIT.match(_fix_case(squashed))
    if not match:
        micro = text.replace("µ", "u").replace("μ", "u")
        spelled = _ALIASES.get(text) or _ALIASES.get(micro) or _ALIASES.get(squashed)
        if spelled is None:
            spelled = squashed if squashed in _UNITS else text
        return spelled, Decimal(1)
    prefix, length = match.groups()
    to_mgy = _GY_PREFIX[prefix]
    if length is None:
        return "mGy", to_mgy
    if length == "cm":
        return "mGy.cm", to_mgy
    # area: to Gy (/1000), and cm2 -> m2 (/10000)
    factor = to_mgy / Decimal(1000)
    return "Gy.m2", factor / Decimal(10000) if length == "cm2" else factor


def key_unit(key: str, unit: str) -> tuple[str, Decimal]:
    """The unit ``key`` is indexed in and the factor from ``unit`` to it.

    Raises :class:`UnitError` when ``key`` has a unit in :data:`KEY_UNITS` that ``unit`` cannot be
    converted to (``KVP`` in ``mA``): that value is skipped with a warning, never mixed in; and
    :class:`UnknownUnit` when ``unit`` is empty, not known here (``DLP`` in ``furlong``) or means no
    unit (UCUM's ``1``, ``{ratio}``) on a key whose unit is not a ratio.
    """
    spelled, factor = normalise_unit(unit)
    dimension = _UNITS.get(spelled)
    target = KEY_UNITS.get(key)
    if target is None:
        if dimension is None or dimension[0] == "ratio":  # counts keep "1", "{pulses}", ...
            return spelled, factor
        target = DIMENSION_UNITS[dimension[0]]
    if spelled == target:
        return target, factor
    wanted = _UNITS[target]
    if dimension is None:
        raise UnknownUnit(f"unit {unit!r} is not known, so it cannot be converted to {target!r}")
    if dimension[0] == "ratio" != wanted[0]:  # UCUM's "1" is no unit: a dose written so has no scale either
        raise UnknownUnit(f"unit {unit!r} means no unit, so it cannot be converted to {target!r}")
    if dimension[0] != wanted[0]:
        raise UnitError(f"unit {unit!r} cannot be converted to {target!r}")
    return target, factor * dimension[1] / wanted[1]


def _fix_case(unit: str) -> str:
    """Vendors write "MGY" / "mgy.cm": accept any case for the gray family only."""
    match = re.match(r"^([cdmu]?)gy(.*)$", unit, flags=re.IGNORECASE)
    if not match:
        return unit
    return f"{match.group(1).lower()}Gy{match.group(2).lower()}"
