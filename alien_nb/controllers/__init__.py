"""One controller per backend (local, aurora, cloud-sql, flexible-server) behind one interface."""
