"""Knowledge-graph building, storage and traversal (documents, sections, tables, entities)."""
