"""Dataset import: reading files, normalising rows to conversations, validation, splits."""
