"""What the DAG files are built from: task defaults, trigger forms, the replicate DAG factory."""
