"""One DICOM instance -> the flat records the index receives (instance, dose report, events)."""
