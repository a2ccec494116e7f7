"""The review pack for district reviews: documents, tables, per-unit files."""
