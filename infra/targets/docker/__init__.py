"""The Docker target: the catalog as containers, networks and volumes on one Docker host
(`deploy.deploy`); `components` holds the generic Pulumi components it is built from."""
