"""Registry of the top navigation: each app registers its pages in its AppConfig.ready()."""
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str  # a lazy translation
    order: int


_ITEMS: list[NavItem] = []


def register(url_name: str, label, order: int = 50) -> None:
    if all(i.url_name != url_name for i in _ITEMS):
        _ITEMS.append(NavItem(url_name, label, order))


def items(request=None) -> dict:
    out = []
    for item in sorted(_ITEMS, key=lambda i: i.order):
        try:
            out.append({"url": reverse(item.url_name), "label": item.label})
        except NoReverseMatch:
            continue
    return {"geosig_nav": out}
