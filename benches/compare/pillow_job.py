"""Pillow contender, as a skilled user writes it: JPEG draft mode, cascade resizing."""
import json
import os
import sys

from PIL import Image, ImageOps


def main(src, out_dir, fmt, job_path, watermark_path):
    job = json.load(open(job_path))
    wm_spec = job["watermark"]
    img = Image.open(src)
    widths = sorted(job["widths"], reverse=True)
    if img.format == "JPEG":
        # DCT-domain downscale on load, never below the largest width (either orientation).
        img.draft("RGB", (widths[0], widths[0]))
    img = ImageOps.exif_transpose(img)
    has_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
    img = img.convert("RGBA" if has_alpha else "RGB")
    if fmt == "jpeg" and has_alpha:
        bg = Image.new("RGB", img.size, tuple(job["background"]))
        bg.paste(img, mask=img.getchannel("A"))
        img = bg
        has_alpha = False
    logo = Image.open(watermark_path).convert("RGBA")
    current = img
    for w in widths:
        if w < current.width:
            h = max(1, round(current.height * w / current.width))
            current = current.resize((w, h), Image.LANCZOS)
        out = current.copy()
        lw = max(1, round(out.width * wm_spec["scale"]))
        lh = max(1, round(logo.height * lw / logo.width))
        mark = logo.resize((lw, lh), Image.LANCZOS)
        alpha = mark.getchannel("A").point(lambda a: round(a * wm_spec["opacity"]))
        mark.putalpha(alpha)
        m = round(out.width * wm_spec["margin"])
        at = (out.width - lw - m, out.height - lh - m)
        if out.mode == "RGBA":
            # "Over", like the other contenders: paste() would also blend the mark's alpha into
            # the picture's own and leave a half-transparent patch under the mark.
            out.alpha_composite(mark, at)
        else:
            out.paste(mark, at, mark)
        name = os.path.join(out_dir, f"{w}.{'jpg' if fmt == 'jpeg' else 'webp'}")
        if fmt == "jpeg":
            out.save(name, quality=job["jpeg"]["quality"], subsampling=2)
        else:
            out.save(name, quality=job["webp"]["quality"], method=job["webp"]["method"])


if __name__ == "__main__":
    main(*sys.argv[1:6])
