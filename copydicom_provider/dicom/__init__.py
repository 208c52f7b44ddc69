"""Reading DICOM values: each decision between the lean and the pydicom reading is made in one place.

``values`` decides for element values (the lean reader beside pydicom's, held against it by tests),
``sr_items`` for a structured report's content items and sequences, ``text`` writes values as the
records carry them, ``ids`` computes Orthanc's IDs.
"""
