"""One DICOM instance -> the flat records the index receives (instance, dose report, events).

Shaping is pure: ``tags`` (the instance's tags as one record), ``dose`` (a dose SR's report and
event records, its tree walked by ``sr_walk`` into ``dose_fields``, keys and units from ``concepts``
and ``units``), ``instance`` (every record of one instance, keyed and fitted under the cap by
``size``). I/O is apart: ``fetch`` reads an instance from Orthanc (``stream`` reads its header up to
the pixel data) and ``workers`` runs ``fetch`` in threads or forked processes.
"""
