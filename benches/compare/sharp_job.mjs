// sharp contender: one pipeline per variant from the file read once, as its docs recommend
// (libvips shrink-on-load applies).
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";

const [src, outDir, fmt, jobPath, watermarkPath] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(jobPath, "utf8"));
const wm = job.watermark;
if (process.env.PICTOR_SINGLE_THREAD === "1") sharp.concurrency(1);
const input = fs.readFileSync(src);
const meta = await sharp(input).metadata();
const swap = (meta.orientation || 1) >= 5;
const [W, H] = swap ? [meta.height, meta.width] : [meta.width, meta.height];
const logo = fs.readFileSync(watermarkPath);
const logoMeta = await sharp(logo).metadata();
for (const w0 of job.widths) {
  const w = Math.min(w0, W);
  const h = Math.max(1, Math.round((H * w) / W));
  const lw = Math.max(1, Math.round(w * wm.scale));
  const lh = Math.max(1, Math.round((logoMeta.height * lw) / logoMeta.width));
  const mark = await sharp(logo)
    .resize(lw, lh, { kernel: "lanczos3" })
    .composite([{ input: Buffer.from([255, 255, 255, Math.round(255 * wm.opacity)]), raw: { width: 1, height: 1, channels: 4 }, tile: true, blend: "dest-in" }])
    .png({ compressionLevel: 0 })
    .toBuffer();
  const m = Math.round(w * wm.margin);
  let p = sharp(input).rotate().resize(w, h, { kernel: "lanczos3" });
  p = p.composite([{ input: mark, left: w - lw - m, top: h - lh - m }]);
  const name = path.join(outDir, `${w0}.${{ jpeg: "jpg", webp: "webp", avif: "avif", png: "png" }[fmt]}`);
  if (fmt === "jpeg") {
    await p.flatten({ background: { r: job.background[0], g: job.background[1], b: job.background[2] } })
      .jpeg({ quality: job.jpeg.quality, chromaSubsampling: "4:2:0" }).toFile(name);
  } else if (fmt === "webp") {
    await p.webp({ quality: job.webp.quality, effort: job.webp.method }).toFile(name);
  } else if (fmt === "avif") {
    await p.avif({ quality: job.avif.quality, effort: job.avif.effort }).toFile(name);
  } else {
    // The lossless reference the AVIF files' SSIM is measured against.
    await p.png({ compressionLevel: 1 }).toFile(name);
  }
}
