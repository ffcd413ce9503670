"""The application layer's services (built from app/), in catalog order."""

from . import api, processor, ui

SERVICES = (api, processor, ui)
