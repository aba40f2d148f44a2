"""Where a release's file is on this machine: found, never downloaded.

A release's file is looked for where the user put it (`--checkpoint FILE`), under the directory
`BENCH_CHECKPOINTS` in its repository's layout (`$BENCH_CHECKPOINTS/BAAI/Uni3D/modelzoo/
uni3d-b/model.pt`, what `huggingface-cli download ... --local-dir` writes), and in the local
Hugging Face cache. A missing file is one sentence saying where it is published and where the
harness looked.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.contracts.errors import WeightsError
from bench.contracts.releases import Release

ENV_VAR = "BENCH_CHECKPOINTS"


def release_file(release: Release, given: str = "") -> Path:
    """The local file of a release: `given`, else where its download would be."""
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise WeightsError(f"The {release.name} checkpoint {path} does not exist.")
        return path
    looked = ["--checkpoint (not given)"]
    root = os.environ.get(ENV_VAR, "")
    if root:
        path = Path(root).expanduser() / release.hub / release.file
        if path.is_file():
            return path
        looked.append(str(path))
    else:
        looked.append(f"{ENV_VAR} (not set)")
    cached = _hub_cache(release.hub, release.file)
    if cached is not None:
        return cached
    looked.append("the Hugging Face cache")
    raise WeightsError(
        f"The {release.name} weights are not on this machine (looked at {', '.join(looked)});"
        f" they are published at {release.url} ({release.size}): download the file and pass"
        f" --checkpoint FILE or set {ENV_VAR}."
    )


def _hub_cache(repo: str, file: str) -> Path | None:
    """The file if a Hugging Face download left it in the local cache; never downloads."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo, file)
    return Path(found) if isinstance(found, str) else None
