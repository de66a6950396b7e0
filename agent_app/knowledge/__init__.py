"""Knowledge base: parse, chunk and index private documents; hybrid BM25 + vector search."""
