"""What the demo runs: its database, its table, the index it builds and the searches it times."""

DATABASE = "alien-demo"
TABLE = "alien_demo_digits"
METRIC = "cosine"
K = 10
EF_SEARCH = (10, 20, 40, 100)
# A deliberately sparse graph: with pgvector's defaults (m=16, ef_construction=64) HNSW finds all
# 10 true neighbours of these 1,697 vectors already at ef_search=10, and the table would show no
# trade-off. With m=4 recall climbs from about 0.9 to 1.0 as ef_search grows.
HNSW_M, HNSW_EF_CONSTRUCTION = 4, 16
