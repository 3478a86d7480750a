"""What to say when a name is not known: the closest valid names, and where all of them are.

Every layer that reports an unknown code or name (the APIs' 400s, the command lines,
ingestion's rejections, permissions) words it through here, so that a misspelling gets
the same help everywhere.

>>> close_names("Sharepoint", ["SharePoint Online", "OneDrive", "Exchange Online"])
['SharePoint Online']
>>> did_you_mean("Sharepoint", ["SharePoint Online", "OneDrive"])
': did you mean "SharePoint Online"?'
>>> did_you_mean("Floppy", ["SharePoint Online"])
''
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

#: The generated list of every code and name (``python -m backupjobs.catalog.reference``).
CODES_REFERENCE = "docs/codes.md"
#: Suggestions given at most.
SUGGESTIONS = 3
# difflib's similarity ratio a name needs to be suggested: "Sharepoint" and "SharePoint
# Online" score 0.74, unrelated names of this catalog well under 0.5; and how far behind
# the best a name may be and still be suggested beside it.
_CUTOFF = 0.6
_BEHIND = 0.15
# Typed text this long that starts a name or a word of it ("teams", "exchange") suggests it.
_WORD = 3


def close_names(
    value: str, names: Iterable[str] | Mapping[str, str], *, limit: int = SUGGESTIONS
) -> list[str]:
    """The names closest to ``value``, best first, compared case-insensitively: those
    spelled alike, then those with a word starting with it. ``names`` may map each name
    to the one to show for it (a status's seed name ``ErrorStart`` to ``Failed to
    start``); each shown once."""
    shown = names if isinstance(names, Mapping) else {name: name for name in names}
    spelled: dict[str, str] = {}
    for name, show in shown.items():
        spelled.setdefault(_folded(name), show)
    wanted = _folded(value)
    matcher = difflib.SequenceMatcher(b=wanted)
    scores = {}
    for key in spelled:
        matcher.set_seq1(key)
        if matcher.real_quick_ratio() >= _CUTOFF and matcher.quick_ratio() >= _CUTOFF:
            scores[key] = matcher.ratio()
    best = max(scores.values(), default=1.0)
    alike = sorted(
        (key for key, score in scores.items() if score >= max(_CUTOFF, best - _BEHIND)),
        key=lambda key: -scores[key],
    )
    worded = [
        key
        for key in spelled
        if len(wanted) >= _WORD
        and key not in alike
        and any(word.startswith(wanted) for word in (key, *key.split()))
    ]
    return list(dict.fromkeys(spelled[key] for key in [*alike, *worded]))[:limit]


def did_you_mean(value: str, names: Iterable[str] | Mapping[str, str]) -> str:
    """``': did you mean "A" or "B"?'`` for the names closest to ``value``; ``''`` if none
    is close."""
    found = [f'"{name}"' for name in close_names(value, names)]
    if not found:
        return ""
    listed = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " or " + found[-1]
    return f": did you mean {listed}?"


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()
