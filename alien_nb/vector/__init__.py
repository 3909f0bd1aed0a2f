"""pgvector helpers: bulk load from numpy, index builds, kNN search, recall measurement."""
