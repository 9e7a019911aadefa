//! Regenerates `testdata/images/` from the public-domain / CC0 photographs shipped in
//! scikit-image's wheel (see testdata/README.md), plus synthetic and hostile files.
//!
//! cargo run -p pictor-image --example make_fixtures -- SKIMAGE_DATA_DIR OUT_DIR

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, Frame, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use pictor_image::pipeline::canvas::Canvas;
use pictor_image::pipeline::encode;
use pictor_image::spec::OutputFormat;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [data, out] = args.as_slice() else {
        return Err("usage: make_fixtures SKIMAGE_DATA_DIR OUT_DIR".into());
    };
    for dir in [
        "photos",
        "orientation",
        "portraits",
        "color",
        "png",
        "gif",
        "webp",
        "hostile",
    ] {
        std::fs::create_dir_all(out.join(dir))?;
    }
    let coffee = image::open(data.join("coffee.png"))?.into_rgb8();
    let astronaut = image::open(data.join("astronaut.png"))?.into_rgb8();
    let chelsea = image::open(data.join("chelsea.png"))?.into_rgb8();

    // Real photographs.
    std::fs::copy(data.join("rocket.jpg"), out.join("photos/rocket.jpg"))?;
    write(out, "photos/coffee.jpg", &jpeg(&coffee, 85, false, None)?)?;
    write(
        out,
        "photos/astronaut.jpg",
        &jpeg(&astronaut, 85, false, None)?,
    )?;

    // Every EXIF orientation of one asymmetric picture; each displays the same upright.
    let upright = quadrants(96, 64);
    for n in 1..=8u8 {
        write(
            out,
            &format!("orientation/orient-{n}.jpg"),
            &stored_as(&upright, n, 95)?,
        )?;
    }

    // Portraits with the face away from the centre of the frame, for `cover` crops. The
    // face boxes the tests hold the crops to are in testdata/README.md.
    let tall = image::imageops::crop_imm(&astronaut, 96, 0, 256, 512).to_image();
    write(
        out,
        "portraits/astronaut-tall.jpg",
        &jpeg(&tall, 85, false, None)?,
    )?;
    for n in [6u8, 7] {
        write(
            out,
            &format!("portraits/astronaut-tall-o{n}.jpg"),
            &stored_as(&tall, n, 85)?,
        )?;
    }
    let side = image::imageops::crop_imm(&astronaut, 100, 32, 412, 256).to_image();
    write(
        out,
        "portraits/astronaut-side.jpg",
        &jpeg(&side, 85, false, None)?,
    )?;
    let camera = image::open(data.join("camera.png"))?.into_rgb8();
    let camera_tall = image::imageops::crop_imm(&camera, 128, 0, 256, 512).to_image();
    write(
        out,
        "portraits/camera-tall.jpg",
        &jpeg(&camera_tall, 85, false, None)?,
    )?;

    // Camera EXIF with GPS, which must never reach an output or a record.
    let gps = vec![
        Entry::ascii(0x0001, "N"),
        Entry::rationals(0x0002, &[(52, 1), (22, 1), (1234, 100)]),
    ];
    let exif = tiff(
        &[
            Entry::ascii(0x010F, "PictorCam"),
            Entry::ascii(0x0110, "Model 7"),
            Entry::ascii(0x0132, "2024:05:06 07:08:09"),
        ],
        &gps,
    );
    write(
        out,
        "photos/exif-gps.jpg",
        &jpeg(&coffee, 85, false, Some(exif))?,
    )?;

    // Colour variety.
    let small = image::imageops::resize(&coffee, 300, 200, FilterType::Lanczos3);
    write(out, "color/progressive.jpg", &jpeg(&small, 85, true, None)?)?;
    let gray = DynamicImage::ImageRgb8(small.clone()).into_luma8();
    write(
        out,
        "color/gray.jpg",
        &encode_jpeg(
            gray.as_raw(),
            300,
            200,
            jpeg_encoder::ColorType::Luma,
            85,
            false,
            None,
        )?,
    )?;
    let cmyk = to_cmyk(&small);
    write(
        out,
        "color/cmyk.jpg",
        &encode_jpeg(
            &cmyk,
            300,
            200,
            jpeg_encoder::ColorType::Cmyk,
            92,
            false,
            None,
        )?,
    )?;
    write(
        out,
        "color/ycck.jpg",
        &encode_jpeg(
            &cmyk,
            300,
            200,
            jpeg_encoder::ColorType::CmykAsYcck,
            92,
            false,
            None,
        )?,
    )?;
    write(out, "color/p3.jpg", &display_p3_jpeg(&small)?)?;
    write(out, "color/reference-srgb.png", &png_rgb(&small)?)?;

    // PNG variety.
    write(out, "png/rgb16.png", &png16()?)?;
    write(out, "png/palette-trns.png", &palette_png()?)?;
    let cat = image::imageops::resize(&chelsea, 300, 200, FilterType::Lanczos3);
    write(out, "png/alpha.png", &png_rgba(&soft_ellipse_alpha(&cat))?)?;
    write(
        out,
        "png/half-transparent.png",
        &png_rgba(&half_transparent(120, 80))?,
    )?;

    // GIF and WebP.
    write(out, "gif/animated.gif", &animated_gif()?)?;
    let mut lossless = Vec::new();
    WebPEncoder::new_lossless(&mut lossless).write_image(
        small.as_raw(),
        300,
        200,
        image::ExtendedColorType::Rgb8,
    )?;
    write(out, "webp/lossless.webp", &lossless)?;
    let with_alpha = soft_ellipse_alpha(&cat);
    let lossy = encode::encode(
        &Canvas {
            width: 300,
            height: 200,
            has_alpha: true,
            data: with_alpha.into_raw(),
        },
        encode::Encoding::new(OutputFormat::Webp, 80),
    )?;
    write(out, "webp/lossy-alpha.webp", &lossy)?;

    // Hostile inputs.
    write(out, "hostile/empty.jpg", b"")?;
    write(
        out,
        "hostile/text.jpg",
        b"This is not a photo, just text with a .jpg name.\n",
    )?;
    let rocket = std::fs::read(data.join("rocket.jpg"))?;
    write(out, "hostile/truncated.jpg", &rocket[..rocket.len() / 2])?;
    let mut corrupted = png_rgb(&small)?;
    let mid = corrupted.len() / 2;
    corrupted[mid..mid + 64].fill(0xA5);
    write(out, "hostile/corrupted.png", &corrupted)?;
    // A real JPEG whose frame header claims zero colour components.
    let mut bad_jpeg = jpeg(&small, 85, false, None)?;
    let sof = bad_jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .ok_or("no SOF0 marker")?;
    bad_jpeg[sof + 9] = 0;
    write(out, "hostile/corrupted.jpg", &bad_jpeg)?;
    write(out, "hostile/bomb.png", &bomb_png(10_000, 10_000)?)?;
    write(
        out,
        "hostile/huge-header.png",
        &header_only_png(100_000, 100_000),
    )?;
    write(
        out,
        "hostile/drawing.png",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>\n",
    )?;
    write(
        out,
        "hostile/scan.tif",
        b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    )?;
    Ok(())
}

/// A JPEG whose pixels are `upright` turned so that EXIF orientation `n`, which it carries,
/// displays them upright again.
fn stored_as(upright: &RgbImage, n: u8, quality: u8) -> Result<Vec<u8>> {
    let inverse = [0, 1, 2, 3, 4, 5, 8, 7, 6][usize::from(n)];
    let mut stored = DynamicImage::ImageRgb8(upright.clone());
    stored.apply_orientation(Orientation::from_exif(inverse).ok_or("orientation")?);
    let exif = tiff(&[Entry::short(0x0112, u16::from(n))], &[]);
    jpeg(&stored.into_rgb8(), quality, false, Some(exif))
}

fn write(out: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::write(out.join(name), bytes)?;
    println!("{name}: {} bytes", bytes.len());
    Ok(())
}

fn jpeg(img: &RgbImage, quality: u8, progressive: bool, exif: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let (w, h) = img.dimensions();
    encode_jpeg(
        img.as_raw(),
        w,
        h,
        jpeg_encoder::ColorType::Rgb,
        quality,
        progressive,
        exif,
    )
}

fn encode_jpeg(
    data: &[u8],
    w: u32,
    h: u32,
    color: jpeg_encoder::ColorType,
    quality: u8,
    progressive: bool,
    exif: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_progressive(progressive);
    if let Some(tiff) = exif {
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        enc.add_app_segment(1, app1)?;
    }
    enc.encode(data, u16::try_from(w)?, u16::try_from(h)?, color)?;
    Ok(out)
}

fn png_rgb(img: &RgbImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

fn png_rgba(img: &RgbaImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}

/// Red top-left, green top-right, blue bottom-left, yellow bottom-right.
fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| match (x < w / 2, y < h / 2) {
        (true, true) => Rgb([255, 0, 0]),
        (false, true) => Rgb([0, 255, 0]),
        (true, false) => Rgb([0, 0, 255]),
        (false, false) => Rgb([255, 255, 0]),
    })
}

fn to_cmyk(img: &RgbImage) -> Vec<u8> {
    img.pixels()
        .flat_map(|p| {
            let [r, g, b] = p.0.map(|v| f32::from(v) / 255.0);
            let k = 1.0 - r.max(g).max(b);
            let ink = |c: f32| {
                if k >= 1.0 {
                    0.0
                } else {
                    (1.0 - c - k) / (1.0 - k)
                }
            };
            [ink(r), ink(g), ink(b), k].map(|v| (v * 255.0).round() as u8)
        })
        .collect()
}

/// The same picture re-encoded into Display P3 numbers and tagged with a P3 profile: only a
/// decoder that honours the profile gets the original sRGB colours back.
fn display_p3_jpeg(img: &RgbImage) -> Result<Vec<u8>> {
    let srgb = moxcms::ColorProfile::new_srgb();
    let p3 = moxcms::ColorProfile::new_display_p3();
    let t = srgb.create_transform_8bit(
        moxcms::Layout::Rgb,
        &p3,
        moxcms::Layout::Rgb,
        moxcms::TransformOptions::default(),
    )?;
    let mut data = vec![0u8; img.as_raw().len()];
    t.transform(img.as_raw(), &mut data)?;
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    enc.add_icc_profile(&p3.encode()?)?;
    enc.encode(
        &data,
        u16::try_from(img.width())?,
        u16::try_from(img.height())?,
        jpeg_encoder::ColorType::Rgb,
    )?;
    Ok(out)
}

fn png16() -> Result<Vec<u8>> {
    let (w, h) = (64u32, 32u32);
    let mut raw = Vec::new();
    for y in 0..h {
        for x in 0..w {
            // Left half 0x8080 exactly (must become 128), right half a 16-bit ramp.
            let v: u16 = if x < w / 2 { 0x8080 } else { (y * 2000) as u16 };
            for _ in 0..3 {
                raw.extend_from_slice(&v.to_ne_bytes());
            }
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        &raw,
        w,
        h,
        image::ExtendedColorType::Rgb16,
    )?;
    Ok(out)
}

fn palette_png() -> Result<Vec<u8>> {
    let (w, h) = (40u32, 40u32);
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![255, 0, 0, 0, 0, 255, 0, 0, 0]);
        enc.set_trns(vec![255, 255, 0]);
        let mut writer = enc.write_header()?;
        // Left: red, right: blue, a transparent band in the middle rows.
        let data: Vec<u8> = (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    if (15..25).contains(&y) {
                        2
                    } else if x < 20 {
                        0
                    } else {
                        1
                    }
                })
            })
            .collect();
        writer.write_image_data(&data)?;
    }
    Ok(out)
}

fn soft_ellipse_alpha(img: &RgbImage) -> RgbaImage {
    let (w, h) = img.dimensions();
    RgbaImage::from_fn(w, h, |x, y| {
        let dx = (x as f32 - w as f32 / 2.0) / (w as f32 / 2.0);
        let dy = (y as f32 - h as f32 / 2.0) / (h as f32 / 2.0);
        let d = (dx * dx + dy * dy).sqrt();
        let a = ((1.0 - d) / 0.2).clamp(0.0, 1.0);
        let p = img.get_pixel(x, y).0;
        Rgba([p[0], p[1], p[2], (a * 255.0).round() as u8])
    })
}

/// Opaque red on the left, fully transparent black on the right: resizing without
/// premultiplied alpha darkens the edge.
fn half_transparent(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

fn animated_gif() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite)?;
        for color in [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]] {
            enc.encode_frame(Frame::new(RgbaImage::from_pixel(64, 48, Rgba(color))))?;
        }
    }
    Ok(out)
}

/// A valid 1-bit greyscale PNG whose pixels inflate to far more than its file size.
fn bomb_png(w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::High);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&vec![0u8; w.div_ceil(8) as usize * h as usize])?;
    }
    Ok(out)
}

/// Only a signature, an IHDR claiming `w` x `h` and an IEND.
fn header_only_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One little-endian TIFF IFD entry.
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

impl Entry {
    fn short(tag: u16, v: u16) -> Entry {
        Entry {
            tag,
            kind: 3,
            count: 1,
            data: v.to_le_bytes().to_vec(),
        }
    }
    fn ascii(tag: u16, s: &str) -> Entry {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        Entry {
            tag,
            kind: 2,
            count: data.len() as u32,
            data,
        }
    }
    fn rationals(tag: u16, values: &[(u32, u32)]) -> Entry {
        let data = values
            .iter()
            .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
            .collect();
        Entry {
            tag,
            kind: 5,
            count: values.len() as u32,
            data,
        }
    }
    fn long(tag: u16, v: u32) -> Entry {
        Entry {
            tag,
            kind: 4,
            count: 1,
            data: v.to_le_bytes().to_vec(),
        }
    }
}

/// A TIFF block (the payload of an EXIF APP1) with IFD0 and, if given, a GPS IFD.
fn tiff(ifd0: &[Entry], gps: &[Entry]) -> Vec<u8> {
    fn ifd_len(n: usize) -> usize {
        2 + 12 * n + 4
    }
    fn write_ifd(out: &mut Vec<u8>, entries: &[&Entry], start: usize) {
        let mut extra_at = start + ifd_len(entries.len());
        let mut extra = Vec::new();
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for e in entries {
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.kind.to_le_bytes());
            out.extend_from_slice(&e.count.to_le_bytes());
            if e.data.len() <= 4 {
                let mut v = e.data.clone();
                v.resize(4, 0);
                out.extend_from_slice(&v);
            } else {
                out.extend_from_slice(&(extra_at as u32).to_le_bytes());
                extra.extend_from_slice(&e.data);
                extra_at += e.data.len();
            }
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&extra);
    }
    fn data_len(entries: &[&Entry]) -> usize {
        entries
            .iter()
            .map(|e| if e.data.len() > 4 { e.data.len() } else { 0 })
            .sum()
    }
    let mut first: Vec<&Entry> = ifd0.iter().collect();
    let gps_pointer;
    let gps_refs: Vec<&Entry> = gps.iter().collect();
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    if !gps.is_empty() {
        // IFD0 gets one more entry: the pointer to the GPS IFD that follows it.
        let n = first.len() + 1;
        let gps_at = 8 + ifd_len(n) + data_len(&first);
        gps_pointer = Entry::long(0x8825, gps_at as u32);
        first.push(&gps_pointer);
        first.sort_by_key(|e| e.tag);
        write_ifd(&mut out, &first, 8);
        write_ifd(&mut out, &gps_refs, gps_at);
    } else {
        write_ifd(&mut out, &first, 8);
    }
    out
}
