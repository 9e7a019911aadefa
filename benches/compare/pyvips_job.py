"""pyvips contender: decode once into memory, then every variant from that image."""
import json
import os
import sys

import pyvips


def main(src, out_dir, fmt, job_path, watermark_path):
    job = json.load(open(job_path))
    wm_spec = job["watermark"]
    img = pyvips.Image.new_from_file(src).autorot()
    if img.hasalpha() and fmt == "jpeg":
        img = img.flatten(background=job["background"])
    img = img.copy_memory()  # decode once
    logo = pyvips.Image.new_from_file(watermark_path)
    for w in job["widths"]:
        out = img.resize(w / img.width, kernel="lanczos3") if w < img.width else img
        lw = max(1, round(out.width * wm_spec["scale"]))
        mark = logo.resize(lw / logo.width, kernel="lanczos3")
        mark = mark * [1, 1, 1, wm_spec["opacity"]]
        m = round(out.width * wm_spec["margin"])
        bands = out.bands
        out = out.composite2(mark.cast("uchar"), "over", x=out.width - mark.width - m, y=out.height - mark.height - m)
        if bands == 3:
            out = out[0:3]
        ext = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "png"}[fmt]
        name = os.path.join(out_dir, f"{w}.{ext}")
        if fmt == "jpeg":
            out.write_to_file(name, Q=job["jpeg"]["quality"], subsample_mode="on", strip=True)
        elif fmt == "webp":
            out.write_to_file(name, Q=job["webp"]["quality"], effort=job["webp"]["method"], strip=True)
        elif fmt == "avif":
            out.write_to_file(name, Q=job["avif"]["quality"], effort=job["avif"]["effort"], compression="av1", strip=True)
        else:
            # The lossless reference the AVIF files' SSIM is measured against.
            out.write_to_file(name, compression=1, strip=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
