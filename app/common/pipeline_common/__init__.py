"""Code shared by the Pipeline API and the Data Processor: settings, job store, S3, queue, telemetry."""
