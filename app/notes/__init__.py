"""Notes: the sample feature (model, HTML list, JSON API, admin, demo data)."""
