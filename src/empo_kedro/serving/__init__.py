"""Using the tuned model: chat replies from base / SFT / DPO, the MLflow chat model, registry and serving."""
