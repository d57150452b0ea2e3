"""What each service reads from its environment and what a deployment must give it, from its settings class.

The pydantic-settings classes (motcua.<service>.settings.Settings on motcua.common.settings.ServiceSettings)
are the one list of a service's variables. The deployment checks ask this module instead of restating
names, so a setting added to a class is known to docker-compose.yml, the Kubernetes manifests and the
operator guide's checks at once.

A deployment must set a setting when its default cannot be right there:
- it has no default;
- its default is an address on the developer's own machine (127.0.0.1, [::1], http://localhost…): MongoDB,
  Kafka, the other services, the mail server, and HOST, which in a container must listen beyond loopback;
- its default is a path relative to the working directory (a container's is read-only and not kept);
- it is the service's port, which the Service, the probes and the network policies name too;
- its class marks it `json_schema_extra=DEPLOYMENT_SETS` (a default only right on a developer's machine,
  such as `SMS_PROVIDER=log`, which writes verification codes to the log).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath
from types import UnionType
from typing import Any, Union, get_args, get_origin
from unittest import mock

from motcua.common.settings import DEPLOYMENT_SETS, ServiceSettings
from motcua.devtools import devservers
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

PORTS = {name: port for name, port, _ in devservers.SERVICES}  # CONTRACT.md's ports, named once
PORT_VARIABLES = {name: variable for name, _, variable in devservers.SERVICES}
SERVICES = tuple(sorted(PORTS, key=lambda name: PORTS[name]))

# Each class fixes this field to its service's name (it names the database): not an operator's choice.
NOT_A_SETTING = "service_name"
ON_THIS_MACHINE = re.compile(r"\b127(?:\.\d{1,3}){3}\b|\[::1\]|//localhost\b")


@dataclass(frozen=True)
class Setting:
    """One field of a settings class and the environment variables that set it."""

    field: str
    names: tuple[str, ...]  # as pydantic-settings looks them up (in capitals), the documented one first
    deployment_sets: bool
    secret: bool

    @property
    def name(self) -> str:
        return self.names[0]


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return get_origin(annotation) in (Union, UnionType) and any(_is_secret(a) for a in get_args(annotation))


def _only_a_deployment_knows(field: FieldInfo) -> bool:
    if field.is_required():
        return True
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("deployment") == DEPLOYMENT_SETS["deployment"]:
        return True  # the class says its default is for a developer's machine only
    default = field.get_default(call_default_factory=True)
    if isinstance(default, PurePath):
        return not default.is_absolute()
    return isinstance(default, str) and ON_THIS_MACHINE.search(default) is not None


def settings_of(cls: type[ServiceSettings], port_variable: str | None = None) -> tuple[Setting, ...]:
    """Every setting of `cls`; the one read from `port_variable` is the service's port."""
    source = EnvSettingsSource(cls)
    found = []
    for field_name, field in cls.model_fields.items():
        if field_name == NOT_A_SETTING:
            continue
        # The lookup EnvSettingsSource itself makes for the field (aliases, then the name when
        # populate_by_name), so these names cannot drift from what the service reads.
        looked_up = source._extract_field_info(field, field_name)
        names = tuple(dict.fromkeys(env_name.upper() for _, env_name, _ in looked_up))
        must = _only_a_deployment_knows(field) or port_variable in names
        found.append(Setting(field_name, names, must, _is_secret(field.annotation)))
    return tuple(found)


@cache
def settings_class(service: str) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = importlib.import_module(f"motcua.{service}.settings").Settings
    return cls


@cache
def settings(service: str) -> tuple[Setting, ...]:
    """The settings of one service (see settings_of)."""
    return settings_of(settings_class(service), PORT_VARIABLES[service])


def reads(service: str) -> frozenset[str]:
    """Every variable the service reads, under each name it accepts."""
    return frozenset(name for s in settings(service) for name in s.names)


def must_set(service: str) -> frozenset[str]:
    """The documented names of the settings a deployment of the service must set (see the module's docstring)."""
    return frozenset(s.name for s in settings(service) if s.deployment_sets)


def secrets(service: str) -> frozenset[str]:
    """The names of the settings that hold a secret (SecretStr): a deployment gives them from a Secret."""
    return frozenset(name for s in settings(service) if s.secret for name in s.names)


def unread(service: str, given: Iterable[str]) -> set[str]:
    """The variables in `given` the service does not read: a typo, or a setting that no longer exists."""
    # pydantic-settings compares names case-insensitively (case_sensitive is off).
    return {name for name in given if name.upper() not in reads(service)}


def missing(service: str, given: Iterable[str]) -> set[str]:
    """The settings the deployment must set and `given` sets under none of their names."""
    upper = {name.upper() for name in given}
    return {s.name for s in settings(service) if s.deployment_sets and not upper & set(s.names)}


def problems(service: str, environ: Mapping[str, str], unknown: Iterable[str] = ()) -> list[str]:
    """What would stop the service from starting with exactly `environ` as its environment.

    `unknown`: variables that are set but whose values only the operator knows (a Secret the manifests do
    not make); their settings are left out of `environ`, and what that alone causes is not a problem: an
    error about one of their fields, or an error about the whole settings whose message names one of them
    (the classes' validators name the variables they compare).
    """
    by_name = {name: s for s in settings(service) for name in s.names}
    withheld = {name for n in unknown if n.upper() in by_name for name in by_name[n.upper()].names}
    try:
        load(service, {name: value for name, value in environ.items() if name.upper() not in withheld})
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
    else:
        return []
    found = []
    for error in errors:
        setting = by_name.get(str(error["loc"][0]).upper()) if error["loc"] else None
        about = set(setting.names) if setting else set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", error["msg"]))
        if not about & withheld:
            found.append(f"{setting.name if setting else 'settings'}: {error['msg']}")
    return found


def load(service: str, environ: Mapping[str, str]) -> ServiceSettings:
    """The service's settings as `python -m motcua.<service>` would load them from exactly `environ`."""
    with mock.patch.dict(os.environ, dict(environ), clear=True):
        return settings_class(service)()
