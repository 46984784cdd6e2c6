"""Reports built from MLflow runs: the sweep plot and the results document (docs/results.md)."""
