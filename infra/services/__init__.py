"""One module per service, grouped by layer; `infra.assembly` composes them into the catalog."""
