"""Data Processor: trains and scores tabular classifiers for jobs taken from the queue."""
