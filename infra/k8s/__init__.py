"""The Kubernetes renderer: the same catalog as the Docker target, as Kubernetes objects.

Everything Kubernetes-specific lives in this package; `infra.catalog` stays free of it.
Kept import-light: `infra.settings` imports `infra.k8s.settings`, so nothing here may
import pulumi-kubernetes at package import time.
"""
