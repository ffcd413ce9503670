"""The Kubernetes target: the same catalog as the Docker target, as Kubernetes objects
(`deploy.deploy`). Everything Kubernetes-specific lives in this package; the catalog and the
service modules stay free of it."""
