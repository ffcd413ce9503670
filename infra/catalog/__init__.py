"""The catalog's vocabulary, below every service and target: the model (`ServiceSpec` and the
rest) and the context a service module is built in. The catalog itself is composed in
`infra.assembly`; the image pins are in `infra.images`."""
