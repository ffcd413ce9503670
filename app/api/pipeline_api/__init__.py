"""Pipeline API: datasets, training and prediction jobs, feedback, registered models."""
