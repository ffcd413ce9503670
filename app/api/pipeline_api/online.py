"""The champion models the API scores online predictions with, kept in memory.

A request reads one immutable `Loaded` (model, schema and version together), so it never sees
a half-loaded model or one version's schema with another's estimator. Once an entry is older
than `max_age`, the next request starts one background check of the `champion` alias and
keeps serving what is loaded: a promotion shows up about `max_age` seconds (plus the load)
later, requests never wait for the registry, and an unreachable registry just means the
loaded version stays in service. Only the first request for a model waits for its load.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from opentelemetry import trace

from pipeline_common.tabular import Column, columns_from_signature

log = logging.getLogger("pipeline_api.online")
tracer = trace.get_tracer("pipeline_api")

ALIAS = "champion"
# Registry answers that mean "there is no such champion" (anything else: the registry is unwell).
_ABSENT = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


class NoChampion(LookupError):
    pass


class RegistryUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Loaded:
    name: str
    version: str
    model: object  # the fitted scikit-learn estimator
    schema: list[Column]
    checked_at: float  # monotonic time the alias was last confirmed


def champion_version(name: str) -> str:
    try:
        return str(MlflowClient().get_model_version_by_alias(name, ALIAS).version)
    except MlflowException as exc:
        if exc.error_code in _ABSENT:
            raise NoChampion(f"model '{name}' has no champion version yet; train one first") from None
        raise RegistryUnavailable(f"the model registry is unavailable ({exc.error_code})") from exc


def load_version(name: str, version: str) -> tuple[object, list[Column]]:
    """One download: pyfunc gives the signature and the raw estimator we score with."""
    uri = f"models:/{name}/{version}"
    with tracer.start_as_current_span("mlflow.load_model") as span:
        span.set_attribute("model.name", name)
        span.set_attribute("model.version", version)
        try:
            pyfunc = mlflow.pyfunc.load_model(uri)
        except MlflowException as exc:  # the registry or its artifact store did not answer
            raise RegistryUnavailable(f"model {uri} could not be loaded from the registry ({exc.error_code})") from exc
        return pyfunc.get_raw_model(), columns_from_signature(pyfunc.metadata.signature, uri)


class ChampionHolder:
    def __init__(
        self,
        max_age: float,
        resolve: Callable[[str], str] = champion_version,
        load: Callable[[str, str], tuple[object, list[Column]]] = load_version,
    ):
        self.max_age = max_age
        self._resolve = resolve
        self._load = load
        self._loaded: dict[str, Loaded] = {}
        self._refreshing: set[str] = set()
        self._first_load: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Loaded:
        """The model to score `name` with; raises NoChampion or RegistryUnavailable only
        when nothing is loaded for `name` yet."""
        entry = self._loaded.get(name)
        if entry is None:
            return self._load_first(name)
        if time.monotonic() - entry.checked_at >= self.max_age:
            self._refresh_in_background(name)
        return entry

    def _load_first(self, name: str) -> Loaded:
        with self._lock:
            gate = self._first_load.setdefault(name, threading.Lock())
        with gate:  # concurrent first requests share one load
            entry = self._loaded.get(name)
            if entry is None:
                entry = self._fetch(name, None)
        return entry

    def _fetch(self, name: str, current: Loaded | None) -> Loaded:
        checked = time.monotonic()
        version = self._resolve(name)
        if current is not None and current.version == version:
            entry = Loaded(name, version, current.model, current.schema, checked)
        else:
            model, schema = self._load(name, version)
            entry = Loaded(name, version, model, schema, checked)
            log.info("online model %s now serves version %s", name, version)
        self._loaded[name] = entry  # one reference swap: readers see the old or the new entry
        return entry

    def _refresh_in_background(self, name: str) -> None:
        with self._lock:
            if name in self._refreshing:
                return
            self._refreshing.add(name)
        threading.Thread(target=self._refresh, args=(name,), daemon=True, name=f"champion-{name}").start()

    def _refresh(self, name: str) -> None:
        current = self._loaded[name]
        try:
            self._fetch(name, current)
        except Exception as exc:  # registry down, alias removed, artifact store down: keep what works
            log.warning("champion check for %s failed (%s); still serving version %s", name, exc, current.version)
            self._loaded[name] = Loaded(name, current.version, current.model, current.schema, time.monotonic())
        finally:
            with self._lock:
                self._refreshing.discard(name)
