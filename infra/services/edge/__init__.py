"""The edge layer's services, in catalog order (nginx-proxy as separate containers), and the Docker
socket proxies, which the assembly adds last for the clients present."""

from . import acme, docker_gen, proxy, socket_proxy

SERVICES = (proxy, docker_gen, acme)
AFTER_ALL = (socket_proxy,)  # they read which of their clients the catalog holds
