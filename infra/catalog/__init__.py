"""The catalog's vocabulary, below every service and target: the model (`ServiceSpec` and the
rest), the context a service module is built in, and the pinned third-party images.
The catalog itself is composed in `infra.assembly`."""
