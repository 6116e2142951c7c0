"""Getting boundary layers in and out: readers, validation, loading, the demo district."""
