"""Configuration files for third-party services, generated from the catalog."""
