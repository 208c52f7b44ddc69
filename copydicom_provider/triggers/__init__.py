"""Triggers that run in Airflow's triggerer: the source Orthanc's change log watched for event-driven runs."""
