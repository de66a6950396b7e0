"""Models and embeddings: DashScope (Qwen), Ollama, OpenAI-compatible, offline."""
