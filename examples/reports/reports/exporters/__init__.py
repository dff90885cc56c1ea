"""Export formats, one module each, chosen by name at request time."""
