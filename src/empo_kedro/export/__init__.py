"""The tuned model outside this project: merged safetensors for transformers, GGUF for llama.cpp-based tools."""
