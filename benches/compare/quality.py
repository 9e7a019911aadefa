#!/usr/bin/env python3
"""Quality targeted by perception against a fixed quality 80, beside sharp's default output.

The benchmark's job (job.json: four widths, the watermark) on the bench corpus and the
project's photo fixtures, per format: Pictor at quality 80, Pictor at a SSIMULACRA2 target, and
sharp at its defaults (JPEG and WebP quality 80, AVIF quality 50). Every file is scored with
SSIMULACRA2 against its own contender's lossless output of the same job (the same pixels before
encoding), by `ssimulacra2_score`. CPU time is the single-threaded job, one process per
picture, the two Pictor jobs taking turns, median of --runs.

Each format's target is the fixed job's mean score rounded up (unless --targets names them),
so the targeted renditions' mean is at least the fixed one's when every rendition reaches it.
Writes the section into benches/RESULTS.md and keeps the figures in target/peers/quality.json,
where run.py finds them when it rewrites the file.

    python3 benches/compare/quality.py [--runs 3] [--formats jpeg,webp,avif] [--targets jpeg=80]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import run

SAVED = run.PEERS / "quality.json"
FIXED = 80
# sharp's own defaults: `jpeg()` and `webp()` quality 80, `avif()` quality 50, effort 4.
SHARP_DEFAULTS = {"jpeg": {"quality": 80, "subsampling": "4:2:0"}, "webp": {"quality": 80, "method": 4},
                  "avif": {"quality": 50, "effort": 4}}
HEADING = "## Quality targeted by perception against a fixed quality"


def pictures(corpus):
    job = json.loads((run.HERE / "job.json").read_text())
    fixtures = sorted((run.ROOT / "testdata" / "images" / "photos").glob("*.jpg"))
    return [Path(corpus) / name for name in job["images"]] + fixtures


def score(pairs):
    """SSIMULACRA2 of each (reference, file) pair."""
    cmd = [run.ROOT / "target" / "release" / "examples" / "ssimulacra2_score"]
    out = subprocess.run([str(c) for c in cmd + [p for pair in pairs for p in pair]],
                         check=True, capture_output=True, text=True).stdout
    return [float(line) for line in out.split()]


def files(folder, fmt, widths):
    return [Path(folder) / f"{w}.{run.EXTENSIONS[fmt]}" for w in widths]


def measure_picture(src, fmt, target, runs, job_path, sharp_job, watermark, widths):
    """Bytes and scores of each contender's four files, and Pictor's CPU seconds."""
    env = {**os.environ, **run.SINGLE_THREAD_ENV}
    fixed_env = {**env, "PICTOR_QUALITY": str(FIXED)}
    target_env = {**env, "PICTOR_QUALITY": f"ssimulacra2={target}"}
    result = {"picture": src.name}
    with tempfile.TemporaryDirectory() as scratch:
        d = {name: Path(scratch) / name for name in ["ref", "fixed", "target", "sharp_ref", "sharp"]}
        for folder in d.values():
            folder.mkdir()
        run.measure(run.command("pictor", src, "__OUT__", "png", job_path, watermark), env, keep=d["ref"])
        run.measure(run.command("sharp", src, "__OUT__", "png", sharp_job, watermark), env, keep=d["sharp_ref"])
        run.measure(run.command("sharp", src, "__OUT__", fmt, sharp_job, watermark), env, keep=d["sharp"])
        cpu = {"fixed": [], "target": []}
        for i in range(runs + 1):
            for name, e in [("fixed", fixed_env), ("target", target_env)]:
                _, seconds, _, _ = run.measure(run.command("pictor", src, "__OUT__", fmt, job_path, watermark), e,
                                               keep=d[name] if i == 0 else None)
                if i > 0:  # the first turn warms the caches
                    cpu[name].append(seconds)
        refs = {"fixed": "ref", "target": "ref", "sharp": "sharp_ref"}
        for name, ref in refs.items():
            made = files(d[name], fmt, widths)
            result[name] = {"bytes": [p.stat().st_size for p in made],
                            "scores": score(list(zip(files(d[ref], "png", widths), made)))}
            if name in cpu:
                result[name]["cpu"] = statistics.median(cpu[name])
    return result


def measure(corpus, formats, targets, runs):
    job_path = run.HERE / "job.json"
    job = json.loads(job_path.read_text())
    watermark = Path(corpus) / job["watermark"]["file"]
    sharp_job = run.PEERS / "quality_sharp_job.json"
    sharp_job.write_text(json.dumps({**job, **SHARP_DEFAULTS}))
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": runs,
              "cpu": run.cpu_model(), "versions": run.versions(), "formats": {}}
    for fmt in formats:
        target = targets.get(fmt)
        if target is None:
            # The fixed job's mean score, rounded up: the target that keeps the mean.
            scores = []
            for src in pictures(corpus):
                with tempfile.TemporaryDirectory() as ref, tempfile.TemporaryDirectory() as fixed:
                    env = {**os.environ, **run.SINGLE_THREAD_ENV}
                    run.measure(run.command("pictor", src, "__OUT__", "png", job_path, watermark), env, keep=ref)
                    run.measure(run.command("pictor", src, "__OUT__", fmt, job_path, watermark),
                                {**env, "PICTOR_QUALITY": str(FIXED)}, keep=fixed)
                    scores += score(list(zip(files(ref, "png", job["widths"]), files(fixed, fmt, job["widths"]))))
            target = math.ceil(statistics.mean(scores))
        rows = [measure_picture(src, fmt, target, runs, job_path, sharp_job, watermark, job["widths"])
                for src in pictures(corpus)]
        result["formats"][fmt] = {"target": target, "pictures": rows,
                                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": runs}
    return result


def totals(rows, name):
    scores = [s for r in rows for s in r[name]["scores"]]
    return {"bytes": sum(sum(r[name]["bytes"]) for r in rows), "mean": statistics.mean(scores),
            "lowest": min(scores), "cpu": sum(r[name].get("cpu", 0) for r in rows), "files": len(scores)}


def lines(result):
    out = [HEADING, "",
           f"Measured on {result['cpu']} by `python3 benches/compare/quality.py` (each format's date and "
           "runs under its heading). The benchmark's job (four widths, the watermark) on the bench corpus's "
           "four pictures and the four photo fixtures (`testdata/images/photos`); every file scored with "
           "SSIMULACRA2 against its own contender's lossless output of the same job. Pictor at quality "
           f"{FIXED}, Pictor at a target (`quality = {{ ssimulacra2 = N }}`, N the fixed job's mean score "
           "rounded up, so the mean is kept), and sharp at its defaults (JPEG and WebP quality 80, AVIF "
           "quality 50, effort 4). CPU: the single-threaded job, one process per picture, the two Pictor "
           "jobs taking turns, median per picture, summed.", ""]
    for fmt, data in result["formats"].items():
        rows, target = data["pictures"], data["target"]
        fixed, targeted, sharp = (totals(rows, n) for n in ["fixed", "target", "sharp"])
        short = sum(1 for r in rows for s in r["target"]["scores"] if s < target - 1)
        out += [f"### {fmt.upper()}: target {target}", "",
                f"Measured {data.get('date', result['date'])}, median of {data.get('runs', result['runs'])} runs.", "",
                "| contender | files | total bytes | bytes ÷ Pictor q80 | mean SSIMULACRA2 | lowest | CPU s | CPU ÷ Pictor q80 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, t in [(f"Pictor, quality {FIXED}", fixed), (f"Pictor, ssimulacra2 = {target}", targeted),
                         ("sharp, defaults", sharp)]:
            cpu = f"{t['cpu']:.2f} | {t['cpu'] / fixed['cpu']:.2f}" if t["cpu"] else " | "
            out.append(f"| {label} | {t['files']} | {t['bytes']} | {t['bytes'] / fixed['bytes']:.2f} | "
                       f"{t['mean']:.2f} | {t['lowest']:.2f} | {cpu} |")
        out += ["", f"Targeted renditions more than 1 point below the target: {short} of {targeted['files']}. "
                "Per picture (bytes at q80 → at the target, the four scores at the target):", ""]
        for r in rows:
            scores = ", ".join(f"{s:.1f}" for s in r["target"]["scores"])
            out.append(f"- {r['picture']}: {sum(r['fixed']['bytes'])} → {sum(r['target']['bytes'])} "
                       f"({scores}); CPU {r['fixed']['cpu']:.2f} → {r['target']['cpu']:.2f} s")
        out.append("")
    return out


def saved_lines():
    """The section from the last run, for run.py's rewrite of RESULTS.md."""
    return lines(json.loads(SAVED.read_text())) if SAVED.exists() else []


def splice(section):
    """Replaces this section of RESULTS.md (or appends it), leaving the rest as measured."""
    path = run.ROOT / "benches" / "RESULTS.md"
    text = path.read_text().split("\n")
    start = next((i for i, line in enumerate(text) if line == HEADING), None)
    if start is None:
        text = text + [""] + section
    else:
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
        text = text[:start] + section + text[end:]
    path.write_text("\n".join(text).rstrip("\n") + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpus", default=os.environ.get("PICTOR_BENCH_CORPUS", str(run.ROOT.parent / "shared" / "bench-corpus")))
    ap.add_argument("--formats", default="jpeg,webp,avif")
    ap.add_argument("--targets", default="", help="jpeg=80,webp=75: fixed targets instead of the fixed job's mean")
    ap.add_argument("--skip-install", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite the section from the last run's figures")
    args = ap.parse_args()
    if not args.report_only:
        if not args.skip_install:
            run.install()
        run.sh("cargo", "build", "--release", "--quiet", "--example", "pictor_job", "--example", "ssimulacra2_score", cwd=run.ROOT)
        targets = {k: float(v) for k, v in (t.split("=") for t in args.targets.split(",") if t)}
        result = measure(args.corpus, args.formats.split(","), targets, args.runs)
        if SAVED.exists():
            # The formats not measured this time keep their last figures.
            kept = json.loads(SAVED.read_text())["formats"]
            result["formats"] = {**kept, **result["formats"]}
        SAVED.parent.mkdir(parents=True, exist_ok=True)
        SAVED.write_text(json.dumps(result, indent=1))
    splice(saved_lines())


if __name__ == "__main__":
    main()
