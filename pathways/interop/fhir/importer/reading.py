"""Reading bundle files and sorting their resources by patient."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from pathways.interop.fhir.importer.report import BundleError
from pathways.interop.fhir.importer.values import JSON, ref_id


def load_bundle(path: Path) -> JSON:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"cannot read the file ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise BundleError(f"not a FHIR Bundle (resourceType is {kind!r})")
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise BundleError("Bundle.entry is not a list")
    return data


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for the *.json files in it (sorted)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(path.glob("*.json")))
        else:
            out.append(path)
    return out


def _resources(bundle: JSON) -> Iterator[JSON]:
    for entry in bundle.get("entry", []):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            resource: JSON = entry["resource"]
            if not resource.get("id"):
                # Rows are keyed on the resource id: without one, the entry's
                # fullUrl, else a digest of the content, keeps re-imports stable.
                full_url = str(entry.get("fullUrl") or "")
                digest = hashlib.sha256(json.dumps(resource, sort_keys=True).encode())
                resource["id"] = ref_id({"reference": full_url}) or digest.hexdigest()[:40]
            yield resource


def by_patient(bundle: JSON) -> list[tuple[JSON, list[JSON]]]:
    """Each Patient with the resources that refer to it."""
    resources = list(_resources(bundle))
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    owned: dict[str, list[JSON]] = defaultdict(list)
    for res in resources:
        ref = res.get("subject") or res.get("patient")
        owned[ref_id(ref)].append(res)
    return [(p, owned.get(str(p.get("id")), [])) for p in patients]
