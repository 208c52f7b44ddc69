"""Moving instances from a source Orthanc to a destination: plan, send, count."""
