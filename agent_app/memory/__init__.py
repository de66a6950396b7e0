"""Long-term memory: a FAISS-backed LangGraph store, the MemoryService façade, tools and extraction."""
