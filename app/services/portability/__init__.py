"""Moving in and out of Gatehouse: bulk user import, tenant export/import, and the data
rights of one person (access, portability, erasure)."""
