"""Time and peak memory of stamping a large PDF, next to serving the same file unstamped.

Builds a PDF of about 20 MiB (pages each drawing an incompressible image), then runs each
case in a fresh process and prints its seconds, its RSS once everything is imported, and
its peak RSS (``ru_maxrss``)::

    python bench/stamp_memory.py [--mib 20] [--pages 40]

"serve" reads the stored file in chunks and hashes it, as the download route streams an
unstamped file; "stamp" is ``stamping._stamp_pdf`` plus the sha256 of the copy, as a stamped
download costs before its first byte is sent. Exits 1 if the stamped copy lost a page.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

MIB: Final = 1024 * 1024
CHUNK: Final = 256 * 1024


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def build(path: Path, mib: int, pages: int) -> None:
    import pikepdf

    pdf = pikepdf.new()
    side = int(((mib * MIB) // pages / 3) ** 0.5)  # an RGB image of about mib/pages MiB
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        image = pdf.make_stream(os.urandom(side * side * 3))
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height, image.BitsPerComponent = side, side, 8
        image.ColorSpace = pikepdf.Name.DeviceRGB
        page = pdf.pages[-1]
        page.add_resource(image, pikepdf.Name.XObject, name=pikepdf.Name.Im0)
        page.contents_add(pdf.make_stream(b"q 500 0 0 500 40 200 cm /Im0 Do Q"))
    pdf.save(path)


def case(name: str, source: Path, out: Path) -> None:
    """One measured case, in this (fresh) process; prints a JSON line."""
    from gated_delivery import stamping

    baseline = rss_kib()
    started = time.perf_counter()
    if name == "stamp":
        stamping._stamp_pdf(source, out, "Licence de Awa Ndiaye — awa@example.org — commande X")
        target = out
    else:
        target = source
    digest = hashlib.sha256()
    with target.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "baseline_kib": baseline, "peak_kib": peak}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gd-bench-stamp-") as tmp:
        source, out = Path(tmp) / "big.pdf", Path(tmp) / "stamped.pdf"
        build(source, args.mib, args.pages)
        size = source.stat().st_size
        print(f"stamping a PDF of {size / MIB:.1f} MiB, {args.pages} pages")
        for name in ("serve", "stamp"):
            command = [sys.executable, __file__, "--case", name, str(source), str(out)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            growth = (result["peak_kib"] - result["baseline_kib"]) / 1024
            print(
                f"  {name:5}  {result['seconds']:6.2f} s  "
                f"RSS after imports {result['baseline_kib'] / 1024:6.1f} MiB  "
                f"peak {result['peak_kib'] / 1024:6.1f} MiB  (growth {growth:5.1f} MiB)"
            )
        import pikepdf

        with pikepdf.open(out) as stamped:
            if len(stamped.pages) != args.pages:
                print(f"the stamped copy has {len(stamped.pages)} pages, not {args.pages}")
                return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        case(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
