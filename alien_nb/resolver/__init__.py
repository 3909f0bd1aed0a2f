"""From a binding (environment or object) to a live connection; cloud secrets are read lazily."""
