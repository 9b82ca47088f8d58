"""``python -m emergence.lm download NAME``: put a hub model into the Hugging Face cache.

The book's kernels run with ``HF_HUB_OFFLINE=1``, so a reader who chooses ``distilgpt2`` or
``gpt2`` (``EMERGENCE_MODEL``) downloads it once, with network access, by this command;
afterwards every build finds it offline at its pinned revision. Introduced in the chapter
'In-context learning in a small pretrained model' (in-context-learning).
"""

from __future__ import annotations

import argparse
import os
import sys

from emergence.lm.loading import REGISTRY, ModelUnavailableError, load_lm


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and download the named hub model; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m emergence.lm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    download = commands.add_parser("download", help="download a hub model of the registry")
    download.add_argument("name", help="registry name, e.g. distilgpt2 or gpt2")
    args = parser.parse_args(argv)
    if args.name not in REGISTRY or REGISTRY[args.name].hub_id is None:
        hub_names = sorted(n for n, spec in REGISTRY.items() if spec.hub_id is not None)
        parser.error(f"{args.name!r} is not a hub model of the registry; choose one of {hub_names}")
    # The hub client reads HF_HUB_OFFLINE when it is first imported, which load_lm does.
    os.environ["HF_HUB_OFFLINE"] = "0"
    try:
        load_lm(args.name)
    except ModelUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
