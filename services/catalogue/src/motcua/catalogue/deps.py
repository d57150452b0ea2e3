"""What the catalogue is made of (`Catalogue`), and the dependencies that hand its parts to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from motcua.catalogue.listing import Listing
from motcua.catalogue.settings import Settings
from motcua.catalogue.store import Store
from motcua.common import mongo
from motcua.common.outbox import Outbox
from motcua.common.runtime import parts_of


@dataclass(frozen=True)
class Catalogue:
    """The running service's parts, built once in app.py's lifespan."""

    settings: Settings
    client: mongo.Client
    store: Store
    outbox: Outbox
    listing: Listing


async def _catalogue(request: Request) -> Catalogue:
    return parts_of(request, Catalogue)


CatalogueDep = Annotated[Catalogue, Depends(_catalogue)]


async def _store(catalogue: CatalogueDep) -> Store:
    return catalogue.store


async def _listing(catalogue: CatalogueDep) -> Listing:
    return catalogue.listing


StoreDep = Annotated[Store, Depends(_store)]
ListingDep = Annotated[Listing, Depends(_listing)]
