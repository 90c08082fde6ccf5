"""Regenerate the committed protobuf / gRPC code under proto/ccnode/v1 from its .proto sources.

    python scripts/gen_protos.py          # rewrite the generated files
    python scripts/gen_protos.py --check  # exit 1 if regeneration would change anything

The generator is the pinned grpcio-tools (protoc) plus mypy-protobuf for typed stubs. Output
goes to a temporary directory first so that --check never touches the tree.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "proto"
PACKAGE_DIR = PROTO_ROOT / "ccnode" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def _generate(out_dir: Path) -> None:
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE_DIR.glob("*.proto"))
    bin_dir = Path(sys.executable).parent
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *sources,
    ]
    subprocess.run(cmd, check=True, cwd=REPO)


def _generated(root: Path) -> dict[str, str]:
    files = {}
    for path in sorted((root / "ccnode" / "v1").iterdir()):
        if path.name.endswith(GENERATED_SUFFIXES):
            files[path.name] = path.read_text(encoding="utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the output would change")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _generate(out)
        fresh = _generated(out)
        current = _generated(PROTO_ROOT)
        if args.check:
            if fresh == current:
                print(f"generated code is up to date ({len(fresh)} files)")
                return 0
            for name in sorted(set(fresh) | set(current)):
                if fresh.get(name) != current.get(name):
                    diff = difflib.unified_diff(
                        current.get(name, "").splitlines(),
                        fresh.get(name, "").splitlines(),
                        f"committed/{name}",
                        f"regenerated/{name}",
                        lineterm="",
                        n=1,
                    )
                    print("\n".join(list(diff)[:40]))
            print("generated code is stale: run `make protos`", file=sys.stderr)
            return 1
        for name in current.keys() - fresh.keys():
            (PACKAGE_DIR / name).unlink()
        for name in fresh:
            shutil.copyfile(out / "ccnode" / "v1" / name, PACKAGE_DIR / name)
        print(f"wrote {len(fresh)} generated files to {PACKAGE_DIR.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
