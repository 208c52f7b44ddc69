"""Dose and utilisation reporting from the records the tags replication indexes in Splunk.

``fields`` names every record field the reports read (one place to adjust at a schema change),
``reference_levels`` reads the national reference-level table, ``collect`` streams and
deduplicates the quarter's records from Splunk, ``statistics`` computes the tables in Python,
``charts`` draws them with matplotlib and ``writer`` puts CSV, PNG and the summary page on disk.
"""
