"""Municipality search: accent- and case-insensitive, exact and prefix matches first, common names as aliases.

Forty-two names fit in memory, so the normalised keys are computed in Python per request instead of a
PostgreSQL `unaccent` index (an extension that needs a superuser migration). The alias table is data:
territorial/data/municipality_aliases.json.
"""
import json
import unicodedata
from functools import lru_cache
from pathlib import Path

from territorial.models import Municipality

ALIASES_FILE = Path(__file__).resolve().parent.parent / "data" / "municipality_aliases.json"
MAX_RESULTS = 10

# rank of a match (lower first): exact name or alias, prefix of the name, prefix of a word, anywhere
EXACT, PREFIX, WORD_PREFIX, CONTAINS = range(4)


def normalise(text: str) -> str:
    """'  Tuluá ' → 'tulua': NFD, combining marks dropped, case-folded, inner spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


@lru_cache(maxsize=1)
def aliases() -> dict[str, tuple[str, ...]]:
    """DIVIPOLA code → its common names (read once per process)."""
    raw = json.loads(ALIASES_FILE.read_text(encoding="utf-8"))
    return {code: tuple(names) for code, names in raw.items() if not code.startswith("_")}


def _rank(query: str, name: str, alias_keys: tuple[str, ...]) -> int | None:
    key = normalise(name)
    keys = (key, *alias_keys)
    if query in keys:
        return EXACT
    if any(k.startswith(query) for k in keys):
        return PREFIX
    if any(w.startswith(query) for k in keys for w in k.split()):
        return WORD_PREFIX
    if any(query in k for k in keys):
        return CONTAINS
    return None


def search_municipalities(query: str, limit: int = MAX_RESULTS) -> list[dict]:
    """Best matches for what a person typed: [{"divipola", "name", "alias"}], best first.

    "alias" is the common name that matched exactly ("Buga" for Guadalajara de Buga), else None.
    """
    q = normalise(query)
    if not q:
        return []
    table = aliases()
    hits = []
    for divipola, name in Municipality.objects.values_list("divipola", "name"):
        alias_names = table.get(divipola, ())
        rank = _rank(q, name, tuple(normalise(a) for a in alias_names))
        if rank is None:
            continue
        alias = next((a for a in alias_names if normalise(a) == q and normalise(name) != q), None)
        hits.append((rank, normalise(name), {"divipola": divipola, "name": name, "alias": alias}))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits[:limit]]
