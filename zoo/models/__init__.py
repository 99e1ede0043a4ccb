"""The zoo's models; each is re-exported from the top-level `zoo` package."""
