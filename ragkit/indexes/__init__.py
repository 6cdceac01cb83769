"""Index backends: the chroma vector store and the bm25s lexical indexes (in memory and segmented on disk)."""
