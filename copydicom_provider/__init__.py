"""copydicom-provider: replicate DICOM between Orthanc servers and index tags in Splunk, from Airflow.

The library entry points (``replicate`` and friends) live in :mod:`copydicom_provider.core`; the
Airflow hooks and operators in their sub-packages, as in Airflow's own providers.
"""

__version__ = "0.1.0"
