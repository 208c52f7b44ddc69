"""Failure notifications: one message per failed DAG run, through any Airflow notifier (docs/notifications.md)."""
