"""Reading DICOM values: raw elements, SR content items, Orthanc's IDs."""
