"""Dose alerts: new scans and exams at or above notification values, told once each (docs/alerts.md)."""
