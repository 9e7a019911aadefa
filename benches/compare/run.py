#!/usr/bin/env python3
"""Side-by-side comparison of Pictor against sharp, pyvips and Pillow on the job in job.json.

Installs the peers under target/peers (never tracked), builds Pictor's contender, runs every
contender on every image, single-threaded and with default threading, a warm-up then --runs
timed runs each, and writes benches/RESULTS.md and benches/results.svg. AVIF runs
single-threaded against sharp and pyvips only (AVIF encodes take seconds, and both use the
same encoder Pillow's plugin does), and each contender's AVIF files get an SSIM against its
own lossless output of the same job.

    python3 benches/compare/run.py [--runs 5] [--corpus DIR] [--formats jpeg,webp,avif]
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PEERS = ROOT / "target" / "peers"
CONTENDERS = ["pictor", "pyvips", "sharp", "pillow"]
FORMATS = ["jpeg", "webp", "avif"]
AVIF_CONTENDERS = ["pictor", "pyvips", "sharp"]
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "png"}
SINGLE_THREAD_ENV = {
    "VIPS_CONCURRENCY": "1",
    "PICTOR_SINGLE_THREAD": "1",
    "UV_THREADPOOL_SIZE": "1",
    "OMP_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
}


def sh(*cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def install():
    node = PEERS / "node"
    if not (node / "node_modules" / "sharp").exists():
        node.mkdir(parents=True, exist_ok=True)
        sh("npm", "init", "-y", cwd=node, stdout=subprocess.DEVNULL)
        sh("npm", "install", "--no-audit", "--no-fund", "sharp", cwd=node)
    shutil.copy(HERE / "sharp_job.mjs", node / "sharp_job.mjs")
    install_sharp_function()
    py = PEERS / "py"
    if not (py / "pyvips").exists() or not (py / "PIL").exists():
        # numpy: the SSIM of the AVIF files; Pillow's AVIF plugin decodes them.
        sh(sys.executable, "-m", "pip", "install", "--quiet", "--target", py, "pyvips", "pyvips-binary", "pillow", "numpy")
    # Built as the README's first command builds it: what the build needs is installed first
    # (nasm on x86_64), so the encoders have their SIMD code as a user's build does.
    sh("bash", ROOT / "scripts" / "build-tools", cwd=ROOT)
    sh("cargo", "build", "--release", "--quiet", "--example", "pictor_job", cwd=ROOT)


def install_sharp_function():
    """The Node.js ingest function with sharp, with its locked dependencies."""
    fn = PEERS / "sharp_function"
    fn.mkdir(parents=True, exist_ok=True)
    for name in ["index.mjs", "runtime.mjs", "package.json", "package-lock.json"]:
        shutil.copy(HERE / "sharp_function" / name, fn / name)
    if not (fn / "node_modules" / "sharp").exists():
        sh("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=fn)


def command(contender, src, out, fmt, job, watermark):
    args = [src, out, fmt, job, watermark]
    if contender == "pictor":
        return [ROOT / "target" / "release" / "examples" / "pictor_job", *args]
    if contender == "pyvips":
        return [sys.executable, HERE / "pyvips_job.py", *args]
    if contender == "pillow":
        return [sys.executable, HERE / "pillow_job.py", *args]
    return ["node", PEERS / "node" / "sharp_job.mjs", *args]


def measure(cmd, env, keep=None):
    """Wall seconds, CPU seconds, peak RSS (MiB) and bytes written by one run; the files are
    written to `keep` when it is given."""
    with tempfile.TemporaryDirectory() as scratch:
        out = str(keep) if keep else scratch
        cmd = [out if str(c) == "__OUT__" else str(c) for c in cmd]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if status != 0:
            raise RuntimeError(f"{cmd} failed with status {status}")
        written = sum(p.stat().st_size for p in Path(out).iterdir())
        files = len(list(Path(out).iterdir()))
        if files != 4:
            raise RuntimeError(f"{cmd} wrote {files} files, expected 4")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, written


SSIM_SCRIPT = r"""
import sys
import numpy as np
from PIL import Image

def luma(path):
    img = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    rgb = np.asarray(Image.alpha_composite(white, img).convert("RGB"), dtype=np.float64)
    return rgb @ [0.299, 0.587, 0.114]

def blur(a):
    # The usual 11-tap Gaussian window, sigma 1.5, applied along both axes.
    x = np.arange(11) - 5
    k = np.exp(-(x ** 2) / (2 * 1.5 ** 2))
    k /= k.sum()
    a = np.apply_along_axis(lambda r: np.convolve(r, k, mode="valid"), 1, a)
    return np.apply_along_axis(lambda c: np.convolve(c, k, mode="valid"), 0, a)

def ssim(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(s.mean())

pairs = sys.argv[1:]
total = weight = 0.0
for encoded, reference in zip(pairs[::2], pairs[1::2]):
    a, b = luma(reference), luma(encoded)
    total += ssim(a, b) * a.size
    weight += a.size
print(total / weight)
"""


def ssim(contender, src, job_path, watermark, widths, env):
    """SSIM of the contender's AVIF files against its own PNG files of the same job, weighted
    by pixels over the four widths."""
    with tempfile.TemporaryDirectory() as avif, tempfile.TemporaryDirectory() as png:
        measure(command(contender, src, "__OUT__", "avif", job_path, watermark), env, keep=avif)
        measure(command(contender, src, "__OUT__", "png", job_path, watermark), env, keep=png)
        pairs = []
        for w in widths:
            pairs += [Path(avif) / f"{w}.avif", Path(png) / f"{w}.png"]
        out = subprocess.run([sys.executable, "-c", SSIM_SCRIPT, *map(str, pairs)],
                             env=env, capture_output=True, text=True, check=True).stdout
        return float(out.strip())


def alpha_check(src, job_path, watermark):
    """The bytes of Pictor's WebP files with alpha, and of the same pictures with libwebp's
    default alpha pre-filter."""
    cmd = command("pictor", src, "-", "webp-alpha-check", job_path, watermark)
    return json.loads(subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout)


def alpha_check_lines(rows):
    checked = [r for r in rows if r.get("alpha_check", {}).get("files")]
    if not checked:
        return []
    lines = ["Alpha plane: Pictor compresses it once, unfiltered; libwebp's default pre-filter (\"fast\")",
             "compresses it twice at method 4, with its estimated best filter and unfiltered, and keeps the",
             "smaller. The same pictures' WebP files both ways (allowed: at most +1%):", ""]
    for r in checked:
        c = r["alpha_check"]
        change = (c["pictor"] / c["libwebp_default"] - 1) * 100
        lines.append(f"- {r['image']}: {c['pictor']} B against {c['libwebp_default']} B with libwebp's default ({change:+.2f}%, {c['files']} files)")
    return lines + [""]


def versions():
    env = dict(os.environ, PYTHONPATH=str(PEERS / "py"))
    py = subprocess.run(
        [sys.executable, "-c", "import pyvips, PIL; print(pyvips.__version__, pyvips.version(0), pyvips.version(1), pyvips.version(2), PIL.__version__)"],
        env=env, capture_output=True, text=True, check=True).stdout.split()
    vips = subprocess.run(
        ["node", "-e", "console.log(require('sharp').versions.vips)"],
        cwd=PEERS / "node", capture_output=True, text=True, check=True).stdout.strip()
    sharp = json.loads((PEERS / "node" / "node_modules" / "sharp" / "package.json").read_text())["version"]
    return {
        "pyvips": f"pyvips {py[0]} (libvips {py[1]}.{py[2]}.{py[3]})",
        "pillow": f"Pillow {py[4]}",
        "sharp": f"sharp {sharp} (libvips {vips})",
    }


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def chart(rows, path):
    """Grouped horizontal bars: single-threaded median wall per image and format."""
    groups = [(r["image"], r["format"]) for r in rows if r["mode"] == "single" and r["contender"] == "pictor"]
    colours = {"pictor": "#d9480f", "pyvips": "#1971c2", "sharp": "#2f9e44", "pillow": "#868e96"}
    bar_h, gap, left, width = 14, 18, 230, 520
    top = 40
    per_group = [sum(1 for r in rows if (r["image"], r["format"], r["mode"]) == (g[0], g[1], "single")) for g in groups]
    height = top + sum(n * bar_h + gap for n in per_group) + 30
    biggest = max(r["wall"] for r in rows if r["mode"] == "single")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="22" font-size="14" font-weight="bold">Median wall time per image, single-threaded (shorter is better)</text>']
    y = top
    for image, fmt in groups:
        out.append(f'<text x="10" y="{y + bar_h * 2 + 4}">{image} → {fmt}</text>')
        for c in CONTENDERS:
            r = next((r for r in rows if (r["image"], r["format"], r["mode"], r["contender"]) == (image, fmt, "single", c)), None)
            if r is None:
                continue
            w = max(1, r["wall"] / biggest * width)
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colours[c]}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}">{c} {r["wall"] * 1000:.0f} ms</text>')
            y += bar_h
        y += gap
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", default=os.environ.get("PICTOR_BENCH_CORPUS", str(ROOT.parent / "shared" / "bench-corpus")))
    ap.add_argument("--skip-install", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md from the last run's data")
    ap.add_argument("--lambda-only", action="store_true", help="measure only the function's size and cold start")
    ap.add_argument("--skip-lambda", action="store_true", help="keep the last measurement of the function's size and cold start")
    ap.add_argument("--throughput-only", action="store_true", help="measure only the throughput of the ingest function and of the queue worker, taking turns; keep every other figure")
    ap.add_argument("--formats", default=",".join(FORMATS), help="measure only these formats, keeping the last run's rows of the others")
    args = ap.parse_args()
    saved = PEERS / "results.json"
    # Recorded before anything is installed: whether this machine had nasm, or the build's own
    # script brought it.
    nasm = "present" if nasm_present() else "installed by scripts/build-tools"
    if args.lambda_only:
        measure_lambda(Path(args.corpus), args.runs)
        args.report_only = True
    if args.throughput_only:
        if not LAMBDA_SAVED.exists():
            sys.exit(f"--throughput-only updates the function's figures in {LAMBDA_SAVED}: make them first (--lambda-only)")
        result = json.loads(LAMBDA_SAVED.read_text())
        result.update(measure_throughputs(Path(args.corpus), args.runs))
        LAMBDA_SAVED.write_text(json.dumps(result, indent=1))
        args.report_only = True
    if args.report_only:
        data = json.loads(saved.read_text())
        measured = data.get("date") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(saved.stat().st_mtime))
        write_results(data["rows"], data["runs"], versions(), measured, data.get("nasm"))
        return
    corpus = Path(args.corpus)
    job_path = HERE / "job.json"
    job = json.loads(job_path.read_text())
    watermark = corpus / job["watermark"]["file"]
    if not args.skip_install:
        install()
    formats = [f for f in args.formats.split(",") if f]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        sys.exit(f"unknown formats {sorted(unknown)}; choose from {FORMATS}")
    rows = []
    if saved.exists() and set(formats) != set(FORMATS):
        rows = [r for r in json.loads(saved.read_text())["rows"] if r["format"] not in formats]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for image in job["images"]:
        src = corpus / image
        for fmt in formats:
            contenders = AVIF_CONTENDERS if fmt == "avif" else CONTENDERS
            for mode in ["single"] if fmt == "avif" else ["single", "default"]:
                env = dict(os.environ, PYTHONPATH=str(PEERS / "py"))
                if mode == "single":
                    env.update(SINGLE_THREAD_ENV)
                cmds = {c: command(c, src, "__OUT__", fmt, job_path, watermark) for c in contenders}
                for cmd in cmds.values():
                    measure(cmd, env)  # warm-up: page cache, lazy loading
                # Round-robin, so a burst of load on a shared machine hits every contender
                # alike instead of skewing one contender's runs.
                runs = {c: [] for c in contenders}
                for _ in range(args.runs):
                    for contender, cmd in cmds.items():
                        runs[contender].append(measure(cmd, env))
                for contender in contenders:
                    mine = runs[contender]
                    row = {
                        "image": image, "format": fmt, "mode": mode, "contender": contender,
                        "wall": statistics.median(r[0] for r in mine),
                        "cpu": statistics.median(r[1] for r in mine),
                        "rss": statistics.median(r[2] for r in mine),
                        "bytes": mine[-1][3],
                        "measured": started,
                    }
                    if fmt == "avif":
                        row["ssim"] = ssim(contender, src, job_path, watermark, job["widths"], env)
                    if (fmt, mode, contender) == ("webp", "single", "pictor"):
                        row["alpha_check"] = alpha_check(src, job_path, watermark)
                    rows.append(row)
                    print(f"{image} {fmt} {mode} {contender}: {row['wall'] * 1000:.0f} ms, {row['rss']:.0f} MiB, {row['bytes']} B {row.get('ssim', '')}", flush=True)
                saved.write_text(json.dumps({"runs": args.runs, "rows": rows, "date": started, "nasm": nasm}, indent=1))
    if not args.skip_lambda:
        measure_lambda(corpus, args.runs)
    write_results(rows, args.runs, versions(), started, nasm)


def nasm_line(nasm):
    if isinstance(nasm, str):
        return nasm
    return {True: "present", False: "absent", None: "not recorded"}[nasm]


def nasm_present():
    return shutil.which("nasm") is not None


LAMBDA_SAVED = PEERS / "lambda.json"
LAMBDA_IMAGE = "dog2.6mp.jpg"
# The function's cost is compared on the 12 MP photo, the upload a phone makes.
COST_IMAGE = "photo12mp_o6.jpg"
COST_UPLOADS = 10
# A 1769 MB function has one vCPU: the throughput and cost runs pin the function (and the bare
# pipeline) to one CPU, leaving the other to the local cloud's server, which stands for S3 and
# DynamoDB outside the function.
PIN = ["taskset", "-c", "1"]
# AWS list prices for Lambda on arm64 (us-east-1, first tier), per GB-second and per request.
ARM64_GB_SECOND = 0.0000133334
PER_REQUEST = 0.20 / 1e6
SURGE_UPLOADS = 10_000
SURGE_SECONDS = 60


def example(name):
    return ROOT / "target" / "lambda-release" / "examples" / name


def run_json(cmd):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    out = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure_lambda(corpus, runs):
    """The ingest function as Lambda runs it, under the local Runtime API with the local
    S3/SQS/DynamoDB server (default spec: 4 JPEG + 4 WebP renditions): its size and cold
    start; its throughput against the bare pipeline; and what Lambda would bill per upload,
    against the same job written as a Node.js function with sharp."""
    sh("cargo", "build", "--quiet", "--profile", "lambda-release", "-p", "pictor-ingest", "--bin", "pictor-ingest", cwd=ROOT)
    binary = ROOT / "target" / "lambda-release" / "pictor-ingest"
    # Built apart from the binary: the examples' test helpers are not in the function.
    sh("cargo", "build", "--quiet", "--profile", "lambda-release", "-p", "pictor-ingest",
       "--example", "cold_start", "--example", "billed", cwd=ROOT)
    install_sharp_function()
    result = run_json([example("cold_start"), binary, corpus / LAMBDA_IMAGE, runs])
    result.update(measure_throughputs(corpus, runs))
    job = json.loads((HERE / "job.json").read_text())
    watermark = corpus / job["watermark"]["file"]
    cost = [corpus / COST_IMAGE, f"WATERMARK_FILE={watermark}"]
    result["billed"] = billed_in_turns(runs, cost, {
        "pictor": [binary],
        "sharp": [shutil.which("node"), PEERS / "sharp_function" / "runtime.mjs"],
    })
    result["sharp_version"] = json.loads((PEERS / "sharp_function" / "node_modules" / "sharp" / "package.json").read_text())["version"]
    result["x86_64_bytes"] = binary.stat().st_size
    result["arm64_bytes"], result["arm64_note"] = arm64_size()
    result["runs"] = runs
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    LAMBDA_SAVED.write_text(json.dumps(result, indent=1))


def measure_throughputs(corpus, runs):
    """The ingest function's throughput against the bare pipeline (the local Runtime API and
    the local cloud), and the queue worker's (NATS, PostgreSQL and SeaweedFS on this machine),
    one run of each in turn, so the two targets are compared under the same load."""
    sh("cargo", "build", "--quiet", "--profile", "lambda-release", "-p", "pictor-ingest", "--bin", "pictor-ingest", cwd=ROOT)
    sh("cargo", "build", "--quiet", "--profile", "lambda-release", "-p", "pictor-ingest", "--example", "throughput", cwd=ROOT)
    # Each built apart from its examples, whose test helpers are not in the binary.
    sh("cargo", "build", "--quiet", "--profile", "lambda-release", "-p", "pictor-worker", "--bin", "pictor-worker", cwd=ROOT)
    sh("cargo", "build", "--quiet", "--profile", "lambda-release", "-p", "pictor-worker", "--example", "worker_throughput", cwd=ROOT)
    # The servers start before the pinned runs, outside their CPU.
    for server in ("local-cloud", "local-s3compat", "local-nats", "local-postgres"):
        sh(str(ROOT / "scripts" / server), "start", cwd=ROOT)
    images = [corpus / image for image in json.loads((HERE / "job.json").read_text())["images"]]
    release = ROOT / "target" / "lambda-release"
    contenders = {
        "throughput": [example("throughput"), release / "pictor-ingest"],
        "worker_throughput": [example("worker_throughput"), release / "pictor-worker"],
    }
    merged = {}
    for _ in range(runs):
        for name, (harness, binary) in contenders.items():
            one = run_json([*PIN, harness, binary, 5, 1, *images])
            if name not in merged:
                merged[name] = one
                continue
            for key in one:
                if key.endswith("_ms") and not key.startswith("median") or key == "throughput_ratio":
                    merged[name][key] += one[key]
    for m in merged.values():
        for key in list(m):
            if key.startswith("median_"):
                m[key] = statistics.median(m[key.removeprefix("median_")])
    merged["throughput_date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return merged


def billed_in_turns(runs, cost, contenders):
    """`billed` for each contender, one run each in turn, `runs` times: a slow spell of the
    shared machine then falls on every contender alike instead of on whichever ran during it."""
    merged = {}
    for _ in range(runs):
        for name, command in contenders.items():
            one = run_json([*PIN, example("billed"), COST_UPLOADS, 1, *cost, "--", *command])
            if name not in merged:
                merged[name] = one
                continue
            for key in ("init_ms", "billed_per_upload_ms", "total_ms"):
                merged[name][key] += one[key]
    for m in merged.values():
        m["median_init_ms"] = statistics.median(m["init_ms"])
        m["median_billed_per_upload_ms"] = statistics.median(m["billed_per_upload_ms"])
    return merged


def ingest_scaling():
    """The CDK app's ingest trigger: (maximum concurrency, batch size)."""
    stack = (ROOT / "infra" / "lib" / "pictor-stack.ts").read_text()
    found = re.search(r"maxConcurrency: props\.ingestMaxConcurrency \?\? (\d+),\s*batchSize: (\d+)", stack)
    if not found:
        raise RuntimeError("the ingest trigger's settings are not where run.py looks for them")
    return int(found.group(1)), int(found.group(2))


def cost_of(billed, memory_mb):
    """Dollars per upload and per cold start, at arm64 list prices."""
    gb = memory_mb / 1024
    per_upload = billed["median_billed_per_upload_ms"] / 1000 * gb * ARM64_GB_SECOND + PER_REQUEST / billed["batch_size"]
    # Lambda bills the init phase too.
    per_init = billed["median_init_ms"] / 1000 * gb * ARM64_GB_SECOND
    return per_upload, per_init


def surge(billed, memory_mb, concurrency):
    """SURGE_UPLOADS arriving evenly over SURGE_SECONDS, served by `concurrency` functions
    each taking batches one after the other: when the queue is empty, and the bill."""
    per_upload, per_init = cost_of(billed, memory_mb)
    init_s = billed["median_init_ms"] / 1000
    per_upload_s = billed["median_billed_per_upload_ms"] / 1000
    capacity = concurrency / per_upload_s
    if capacity * SURGE_SECONDS >= SURGE_UPLOADS:
        # Keeps up: the last upload is done one batch after it arrives.
        drained = SURGE_SECONDS + per_upload_s * billed["batch_size"]
    else:
        drained = init_s + SURGE_UPLOADS / capacity
    return {
        "capacity_per_s": capacity,
        "drained_s": drained,
        "dollars": SURGE_UPLOADS * per_upload + concurrency * per_init,
    }


def arm64_size():
    installed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True).stdout.split()
    if "aarch64-unknown-linux-gnu" not in installed:
        return None, "not built: this toolchain has no aarch64 standard library (`rustup target add aarch64-unknown-linux-gnu`)"
    if shutil.which("cargo-lambda") is None:
        return None, "not built: cargo-lambda (with its zig linker) is not installed (`pip install cargo-lambda`)"
    # A target folder of its own: the cross build shares nothing with the host's, and kept apart
    # it stays warm between runs.
    arm = ROOT / "target" / "arm64"
    sh("cargo", "lambda", "build", "--profile", "lambda-release", "--arm64", "-p", "pictor-ingest", "--bin", "pictor-ingest",
       cwd=ROOT, env=dict(os.environ, CARGO_TARGET_DIR=str(arm)))
    # cargo-lambda moves the binary into its own output folder, as `bootstrap`.
    return (arm / "lambda" / "pictor-ingest" / "bootstrap").stat().st_size, ""


def lambda_lines():
    if not LAMBDA_SAVED.exists():
        return []
    r = json.loads(LAMBDA_SAVED.read_text())
    arm = f"{r['arm64_bytes'] / 2**20:.2f} MiB ({r['arm64_bytes']:,} B)" if r.get("arm64_bytes") else r["arm64_note"]
    measured = r.get("date") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(LAMBDA_SAVED.stat().st_mtime))
    lines = [
        "## The ingest function: size and cold start",
        "",
        "`cargo build --profile lambda-release -p pictor-ingest` (release, fat LTO, everything but the image code optimised for size, stripped; no AV1 encoder, as the CDK app builds it for a spec without AVIF), run as Lambda runs",
        "it by `functions/ingest/examples/cold_start.rs`: the local Runtime API, the local S3/SQS/DynamoDB",
        f"server behind it, the default spec (4 JPEG + 4 WebP renditions), {LAMBDA_IMAGE} ({r['image_bytes']} B) uploaded.",
        f"Median of {r['runs']} fresh processes, measured {measured}. The first event includes creating the SDK",
        "clients' connections.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| binary size, x86_64 | {r['x86_64_bytes'] / 2**20:.2f} MiB ({r['x86_64_bytes']:,} B) |",
        f"| binary size, arm64 | {arm} |",
        f"| process start -> first Runtime API poll | {r['median_first_poll_ms']:.1f} ms |",
        f"| first event (cold process), end to end | {r['median_first_event_ms']:.0f} ms |",
        f"| second event (warm process), end to end | {r['median_warm_event_ms']:.0f} ms |",
        "",
    ]
    return lines + throughput_lines(r) + worker_throughput_lines(r) + cost_lines(r)


def throughput_lines(r):
    t = r.get("throughput")
    if not t:
        return []
    return [
        "## The ingest function: throughput against the bare pipeline",
        "",
        "`functions/ingest/examples/throughput.rs`, pinned to one CPU (`taskset -c 1`; a 1769 MB function has one",
        f"vCPU), the local cloud's server on the other. Each run uploads {', '.join(t['images'])}",
        f"{t['uploads_per_run'] // len(t['images'])} times each to the local S3 server and starts a fresh function process (one encode thread). Then, batch",
        f"by batch ({t['batch_size']} uploads, the CDK app's batch size), the two take turns on the same images: the bare pipeline",
        "in the harness's process (default spec: 8 renditions, one encode thread, one image after another),",
        "then the function handed the batch as one SQS event, reading the originals from the local S3 server",
        "and writing renditions and records to it and the local DynamoDB. The function has two messages in",
        "flight: the pipeline of one overlaps the next one's read and the last one's writes. Same build",
        "(`lambda-release`) for both.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| bare pipeline, {t['uploads_per_run']} images (median of {len(t['pipeline_ms'])}) | {t['median_pipeline_ms']:.0f} ms |",
        f"| function, each batch from hand-over to answer, summed | {t['median_function_ms']:.0f} ms |",
        f"| **throughput, function ÷ bare pipeline** (median of per-run ratios {', '.join(f'{x:.2f}' for x in t['throughput_ratio'])}) | **{t['median_throughput_ratio']:.2f}** |",
        "",
    ]


def worker_throughput_lines(r):
    t, f = r.get("worker_throughput"), r.get("throughput")
    if not t or not f:
        return []
    return [
        "## The queue worker: throughput against the bare pipeline, beside the function's",
        "",
        f"`functions/worker/examples/worker_throughput.rs`, measured {r.get('throughput_date', 'with the function')}, run by run in turn with the function's harness",
        "(`throughput.rs`, above), pinned the same way, on the same images: each run uploads them to the local SeaweedFS server, makes a",
        "fresh PostgreSQL database and fresh NATS subjects, and starts a fresh `pictor-worker` (one encode",
        "thread, two notifications in hand, as the Kubernetes manifests run it). Batch by batch, the bare",
        "pipeline and the worker take turns: the worker's time runs from the first of a batch's notifications",
        "published to JetStream to the last of its `AssetReady` events received. The three servers run on",
        "the other CPU. Same build (`lambda-release`) as the function.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| bare pipeline, {t['uploads_per_run']} images (median of {len(t['pipeline_ms'])}) | {t['median_pipeline_ms']:.0f} ms |",
        f"| worker, each batch from the first notification to the last event, summed | {t['median_worker_ms']:.0f} ms |",
        f"| **throughput, worker ÷ bare pipeline** (median of per-run ratios {', '.join(f'{x:.2f}' for x in t['throughput_ratio'])}) | **{t['median_throughput_ratio']:.2f}** |",
        f"| the function's (`throughput.rs`) in the same session, function ÷ bare pipeline (per run {', '.join(f'{x:.2f}' for x in f['throughput_ratio'])}) | {f['median_throughput_ratio']:.2f} |",
        f"| **worker ÷ function** | **{t['median_throughput_ratio'] / f['median_throughput_ratio']:.2f}** |",
        "",
    ]


def cost_lines(r):
    b = r.get("billed")
    if not b:
        return []
    memory = int(b["pictor"]["memory_mb"])
    concurrency, batch = ingest_scaling()
    rows = []
    figures = {}
    for name, label in [("pictor", "Pictor (`pictor-ingest`)"), ("sharp", f"Node.js {node_version()} + sharp {r.get('sharp_version', '?')}")]:
        f = b[name]
        per_upload, per_init = cost_of(f, memory)
        s = surge(f, memory, concurrency)
        figures[name] = (f, per_upload, s)
        rows.append(
            f"| {label} | {f['median_init_ms']:.0f} | {f['median_billed_per_upload_ms']:.0f} | "
            f"${per_upload * 1e6:,.2f} | {s['capacity_per_s']:.0f}/s | {s['drained_s']:.0f} s | ${s['dollars']:.2f} |")
    p, s = figures["pictor"], figures["sharp"]
    return [
        "## The ingest function against a sharp function: billed time and cost",
        "",
        "`functions/ingest/examples/billed.rs` runs each function as Lambda runs it (local Runtime API, local cloud),",
        f"pinned to one CPU as a {memory} MB function is, fed {p[0]['uploads_per_run']} uploads of {COST_IMAGE} ({p[0]['image_bytes']} B, 12 MP) as",
        f"SQS batches of {batch}. The sharp function (`benches/compare/sharp_function/`) is the same job written as a",
        "Node.js user writes it for Lambda: the AWS SDK v3 clients made once per process, the original read",
        "into memory, the 8 renditions (xl/lg/md inside, a 256x256 thumb cropped around sharp's attention",
        "point; JPEG q82, WebP q80; the logo on those 320 px wide or more) made from it in parallel, each",
        "written under a content-addressed key, then the record. `runtime.mjs` stands in for the managed",
        "Node.js runtime's poll loop. Billed time is each invocation's duration from the hand-over of its",
        "event to its answer, per upload; init is process start to first poll (Lambda bills it too).",
        f"Prices: arm64 list, ${ARM64_GB_SECOND} per GB-second and $0.20 per million requests; S3 and",
        "DynamoDB requests are the same for both and left out. The times are this machine's x86_64 CPU,",
        f"not a Graviton's. Median of {r['runs']} fresh processes each, the two functions taking turns",
        "(one run of Pictor's, one of sharp's, and again), so a slow spell of this shared machine falls on both.",
        "",
        f"Surge: {SURGE_UPLOADS:,} uploads arriving evenly over {SURGE_SECONDS} s, at the CDK app's default ingest",
        f"concurrency ({concurrency} functions, batches of {batch}). Each function starts cold once and then takes batches",
        "one after another; capacity is concurrency ÷ billed time per upload; when it is below the",
        "arrival rate, the queue drains at init + uploads ÷ capacity, else one batch after the last arrival.",
        f"The cost is {SURGE_UPLOADS:,} uploads' billed time and requests plus {concurrency} inits.",
        "",
        "| function | init ms | billed ms per upload | per million uploads | surge capacity | surge drained after | surge cost |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"**Pictor ÷ sharp, cost per upload: {p[1] / s[1]:.2f}**; billed time per upload"
        f" {p[0]['median_billed_per_upload_ms'] / s[0]['median_billed_per_upload_ms']:.2f}.",
        "",
    ]


def node_version():
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def avif_lines():
    job = json.loads((HERE / "job.json").read_text())
    a = job["avif"]
    return [
        f"sharp and pyvips: `quality`/`Q` {a['quality']}, `effort` {a['effort']} (libheif with libaom). Pictor:",
        f"`quality = {a['pictor']['quality']}`, `speed = {a['pictor']['speed']}` (rav1e through ravif), the quality chosen so that its",
        "files of photo12mp_o6.jpg are no larger than sharp's. The scales of the two encoders differ, so the same number",
        "is not the same quality: SSIM (luma, 11-tap Gaussian window, over the four files weighted by",
        "pixels, each against the same contender's lossless PNG output of the same job) says what each",
        "file kept. Pillow is left out: its AVIF plugin uses the same libaom.",
        "",
    ]


def measured_line(rows, measured):
    """When each format's rows were measured: a run with `--formats` keeps the others' rows."""
    when = {}
    for r in rows:
        when.setdefault(r.get("measured", measured), []).append(r["format"])
    if len(when) <= 1:
        return next(iter(when), measured)
    parts = []
    for date, formats in sorted(when.items()):
        names = ", ".join(f.upper() for f in dict.fromkeys(formats))
        parts.append(f"{names} {date}")
    return "; ".join(parts) + " (same machine)"


def write_results(rows, runs, peer_versions, measured, nasm=None):
    lines = [
        "# Side-by-side results",
        "",
        "Written by `python3 benches/compare/run.py`; do not edit by hand. The job is defined once in",
        "`benches/compare/job.json`: decode once, auto-orient, widths 2048/1024/512/256 (keep aspect,",
        "never upscale, Lanczos3), watermark PNG at 20% of the variant width and 50% opacity bottom-right,",
        "JPEG q82 4:2:0, WebP q80 method 4 or AVIF (see its section), write the four files. One process per image; each figure is",
        f"the median of {runs} runs after a warm-up, measured in the same session for every contender, the",
        "contenders taking turns run by run.",
        "",
        f"- Machine: {os.cpu_count()} CPUs, {cpu_model()}, {platform.system()} {platform.release()}",
        f"- Peers: {', '.join(peer_versions.values())}",
        f"- Measured: {measured_line(rows, measured)}",
        f"- nasm: {nasm_line(nasm)} (the JPEG encoder's x86 SIMD and rav1e's x86 assembly need it at build time; `scripts/build-tools` installs it before the build, as the README's first command does)",
        "- `ratio` is Pictor's median wall time divided by the fastest peer's on the same image, format",
        "  and threading mode (below 1.0 means Pictor is faster). Single-threaded: `VIPS_CONCURRENCY=1`,",
        "  `sharp.concurrency(1)` with `UV_THREADPOOL_SIZE=1`, Pictor `PICTOR_SINGLE_THREAD=1`; Pillow is",
        "  single-threaded in both modes. With default threading Pictor encodes the variants in parallel.",
        "",
        "![median wall time, single-threaded](results.svg)",
        "",
    ]
    for fmt in FORMATS:
        for mode in ["single", "default"]:
            if not any((r["format"], r["mode"]) == (fmt, mode) for r in rows):
                continue
            avif = fmt == "avif"
            lines += [f"## {fmt.upper()} output, {'single-threaded' if mode == 'single' else 'default threading'}", ""]
            if avif:
                lines += avif_lines()
            lines += ["| image | contender | median wall ms | CPU ms | peak RSS MiB | output bytes |"
                      + (" SSIM |" if avif else "") + " ratio to fastest peer |",
                      "|---|---|---:|---:|---:|---:|" + ("---:|" if avif else "") + "---:|"]
            for image in dict.fromkeys(r["image"] for r in rows):
                group = [r for r in rows if (r["image"], r["format"], r["mode"]) == (image, fmt, mode)]
                if not group:
                    continue
                fastest_peer = min(r["wall"] for r in group if r["contender"] != "pictor")
                for r in group:
                    ratio = f"{r['wall'] / fastest_peer:.2f}" if r["contender"] == "pictor" else ""
                    quality = f" {r['ssim']:.4f} |" if avif else ""
                    lines.append(f"| {image} | {r['contender']} | {r['wall'] * 1000:.0f} | {r['cpu'] * 1000:.0f} | {r['rss']:.0f} | {r['bytes']} |{quality} {ratio} |")
            lines.append("")
            if (fmt, mode) == ("webp", "single"):
                lines += alpha_check_lines([r for r in rows if (r["format"], r["mode"]) == (fmt, mode)])
    lines += lambda_lines()
    import quality  # the same folder; it imports this module, so only once both are loaded
    lines += quality.saved_lines()
    (ROOT / "benches" / "RESULTS.md").write_text("\n".join(lines))
    chart(rows, ROOT / "benches" / "results.svg")


if __name__ == "__main__":
    main()
