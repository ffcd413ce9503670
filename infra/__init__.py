"""The MLOps platform as a Pulumi program: settings, service catalog, generic components."""
