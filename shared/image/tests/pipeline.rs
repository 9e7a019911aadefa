//! The pipeline on the fixtures in testdata/: sizes, orientation, colour, alpha, watermark,
//! metadata hygiene, resize quality and hostile input.

mod common;

use common::*;
use pictor_image::pipeline::encode::{encode, Encoding};
use pictor_image::pipeline::resize::{plan, resize};
use pictor_image::pipeline::{canvas::Canvas, SourceFormat};
use pictor_image::spec::{Fit, OutputFormat, Variant};
use pictor_image::{ErrorKind, Pipeline, Spec};

fn synthetic_jpeg(w: u32, h: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]
        })
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&data, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[test]
fn default_spec_makes_every_variant_at_the_right_size() {
    let processed = process(&synthetic_jpeg(3000, 2000), Spec::default(), Some("ana"));
    let expected = [
        ("xl", 2048, 1365),
        ("lg", 1024, 683),
        ("md", 512, 341),
        ("thumb", 256, 256),
    ];
    assert_eq!(processed.renditions.len(), 8);
    for (name, w, h) in expected {
        for ext in ["jpg", "webp"] {
            let r = rendition(&processed, name, ext);
            assert_eq!((r.width, r.height), (w, h), "{name}.{ext}");
            let img = decode_rgba(&r.data);
            assert_eq!(img.dimensions(), (w, h), "{name}.{ext} as encoded");
        }
    }
    assert_eq!((processed.info.width, processed.info.height), (3000, 2000));
    assert_eq!(processed.info.format, SourceFormat::Jpeg);
}

#[test]
fn jpeg_colours_match_the_independent_webp_encoder() {
    // Two unrelated encoders (ours for JPEG, libwebp) must agree on the picture.
    let processed = process(&fixture("photos/coffee.jpg"), Spec::default(), None);
    for name in ["md", "thumb"] {
        let jpg = decode_rgba(&rendition(&processed, name, "jpg").data);
        let webp = decode_rgba(&rendition(&processed, name, "webp").data);
        let db = psnr(&jpg, &webp);
        assert!(db > 30.0, "{name}: JPEG and WebP differ by {db:.1} dB");
    }
    let reference = decode_rgba(&fixture("color/reference-srgb.png"));
    let small = spec("[[variants]]\nname='s'\nwidth=300\nformat='jpeg'\nquality=90\n[watermark.logo]\nenabled=false");
    let jpg =
        decode_rgba(&process(&fixture("color/reference-srgb.png"), small, None).renditions[0].data);
    assert!(psnr(&jpg, &reference) > 30.0);
}

#[test]
fn small_sources_are_never_upscaled() {
    let processed = process(&fixture("photos/coffee.jpg"), Spec::default(), None);
    assert_eq!(
        (
            rendition(&processed, "xl", "jpg").width,
            rendition(&processed, "xl", "jpg").height
        ),
        (600, 400)
    );
    assert_eq!(rendition(&processed, "md", "webp").width, 512);
    let thumb = rendition(&processed, "thumb", "jpg");
    assert_eq!((thumb.width, thumb.height), (256, 256));
}

/// Processes `file` (96x64 quadrants stored turned) and checks every variant is upright: red
/// top-left, green top-right, blue bottom-left, yellow bottom-right, sampled at the centre of
/// each quadrant as fractions of the output size.
fn assert_upright_in_every_variant(file: &str) {
    let expected = [
        ((0.25, 0.25), [255, 0, 0]),
        ((0.75, 0.25), [0, 255, 0]),
        ((0.25, 0.75), [0, 0, 255]),
        ((0.75, 0.75), [255, 255, 0]),
    ];
    let spec = spec(
        r#"
        [[variants]]
        name = "full"
        width = 16384
        format = "png"
        [[variants]]
        name = "half"
        width = 48
        format = "png"
        [[variants]]
        name = "square"
        width = 32
        height = 32
        fit = "cover"
        format = "png"
        "#,
    );
    let processed = process(&fixture(file), spec, None);
    assert_eq!(
        (processed.info.width, processed.info.height),
        (96, 64),
        "{file}"
    );
    for (name, size) in [("full", (96, 64)), ("half", (48, 32)), ("square", (32, 32))] {
        let img = decode_rgba(&rendition(&processed, name, "png").data);
        assert_eq!(img.dimensions(), size, "{file} {name}");
        for ((fx, fy), rgb) in expected {
            let (x, y) = ((fx * size.0 as f64) as u32, (fy * size.1 as f64) as u32);
            let p = img.get_pixel(x, y).0;
            let close = (0..3).all(|c| (i32::from(p[c]) - rgb[c]).abs() < 48);
            assert!(
                close,
                "{file} {name}: pixel ({x},{y}) is {p:?}, want {rgb:?}"
            );
        }
    }
}

#[test]
fn every_exif_orientation_ends_upright_in_every_variant() {
    for n in 1..=8 {
        assert_upright_in_every_variant(&format!("orientation/orient-{n}.jpg"));
    }
}

#[test]
fn heic_and_avif_orientation_agrees_with_the_jpeg_fixtures() {
    // The same eight pictures, their orientation in irot/imir as libheif and libavif write it.
    for ext in ["heic", "avif"] {
        for n in 1..=8 {
            assert_upright_in_every_variant(&format!("heif/orient-{n}.{ext}"));
        }
    }
}

/// The 600x400 coffee photo made by the pipeline itself at `width`, as PNG.
fn coffee_at(width: u32) -> image::RgbaImage {
    let toml = format!("[[variants]]\nname = \"ref\"\nwidth = {width}\nformat = \"png\"\n");
    decode_rgba(&process(&fixture("photos/coffee.jpg"), spec(&toml), None).renditions[0].data)
}

#[test]
fn heic_and_avif_photos_decode_with_exif_alpha_depth_and_grids() {
    let reference = coffee_at(300);
    for (file, format) in [
        ("heif/photo.heic", SourceFormat::Heic),
        ("heif/photo.avif", SourceFormat::Avif),
    ] {
        let processed = process(&fixture(file), spec(PLAIN_PNG), None);
        assert_eq!(processed.info.format, format, "{file}");
        assert_eq!((processed.info.width, processed.info.height), (300, 200));
        assert!(!processed.info.has_alpha, "{file}");
        let db = psnr(&decode_rgba(&processed.renditions[0].data), &reference);
        assert!(db > 30.0, "{file}: {db:.1} dB against the JPEG original");
        let exif = &processed.info.exif;
        assert_eq!(exif.camera_make.as_deref(), Some("HeifCam"), "{file}");
        assert_eq!(exif.camera_model.as_deref(), Some("Model H"), "{file}");
        assert_eq!(exif.captured_at.as_deref(), Some("2025:06:07 08:09:10"));
        assert!(processed.info.blurhash.is_some(), "{file}");
        // Every default variant and format comes out of it.
        let all = process(&fixture(file), Spec::default(), None);
        assert_eq!(all.renditions.len(), Spec::default().variants.len());
    }

    // Alpha: transparent outside the ellipse, opaque inside, as in the PNG it was made from.
    let png = decode_rgba(&fixture("png/alpha.png"));
    for file in ["heif/alpha.heic", "heif/alpha.avif"] {
        let processed = process(&fixture(file), spec(PLAIN_PNG), None);
        assert!(processed.info.has_alpha, "{file}");
        let img = decode_rgba(&processed.renditions[0].data);
        assert!(
            img.get_pixel(2, 2).0[3] < 8,
            "{file}: corner not transparent"
        );
        assert!(
            img.get_pixel(150, 100).0[3] > 247,
            "{file}: centre not opaque"
        );
        let alpha_error: f64 = img
            .pixels()
            .zip(png.pixels())
            .map(|(a, b)| (f64::from(a.0[3]) - f64::from(b.0[3])).abs())
            .sum::<f64>()
            / f64::from(img.width() * img.height());
        assert!(
            alpha_error < 3.0,
            "{file}: alpha off by {alpha_error:.1} on average"
        );
    }

    // 10-bit samples come out as the 8-bit photo they were made from.
    let ten = process(&fixture("heif/ten-bit.heic"), spec(PLAIN_PNG), None);
    assert_eq!((ten.info.width, ten.info.height), (120, 80));
    let db = psnr(&decode_rgba(&ten.renditions[0].data), &coffee_at(120));
    assert!(db > 28.0, "10-bit: {db:.1} dB");

    // A grid of 512x512 tiles is put together seamlessly.
    let grid = process(&fixture("heif/grid.heic"), spec(PLAIN_PNG), None);
    assert_eq!((grid.info.width, grid.info.height), (600, 400));
    let db = psnr(
        &decode_rgba(&grid.renditions[0].data),
        &decode_rgba(&fixture("photos/coffee.jpg")),
    );
    assert!(db > 28.0, "grid: {db:.1} dB against the JPEG original");

    // A burst and an animation: the first (primary) picture, the burst's pictures counted.
    let burst = process(&fixture("heif/burst.heic"), spec(PLAIN_PNG), None);
    assert_eq!(burst.info.frame_count, 3);
    let animated = process(&fixture("heif/animated.avif"), spec(PLAIN_PNG), None);
    for p in [&burst, &animated] {
        let px = decode_rgba(&p.renditions[0].data).get_pixel(10, 10).0;
        assert!(
            px[0] > 240 && px[1] < 16 && px[2] < 16,
            "first frame is red: {px:?}"
        );
    }
}

#[test]
fn avif_renditions_keep_quality_alpha_and_a_kept_p3_gamut() {
    let avif_spec = |extra: &str| {
        spec(&format!(
            "{extra}\n[[variants]]\nname = \"a\"\nwidth = 300\nformat = \"avif\"\nquality = 70\nspeed = 8\n"
        ))
    };
    let roundtrip = |bytes: &[u8]| {
        let back = process(bytes, spec(PLAIN_PNG), None);
        assert_eq!(back.info.format, SourceFormat::Avif);
        back
    };

    let photo = process(&fixture("photos/coffee.jpg"), avif_spec(""), None);
    let avif = &photo.renditions[0];
    assert_eq!(
        (avif.format, avif.width, avif.height),
        (OutputFormat::Avif, 300, 200)
    );
    assert_eq!(&avif.data[4..12], b"ftypavif");
    let back = roundtrip(&avif.data);
    let out = decode_rgba(&back.renditions[0].data);
    let db = psnr(&out, &coffee_at(300));
    assert!(db > 30.0, "AVIF q70: {db:.1} dB");
    assert!(ssim(&out, &coffee_at(300)) > 0.9);

    // Alpha survives, and stays soft.
    let alpha = process(&fixture("png/alpha.png"), avif_spec(""), None);
    let back = roundtrip(&alpha.renditions[0].data);
    assert!(back.info.has_alpha);
    let img = decode_rgba(&back.renditions[0].data);
    assert!(img.get_pixel(2, 2).0[3] < 8 && img.get_pixel(150, 100).0[3] > 247);

    // color = "keep": the P3 pixels stay P3 and the file says so (nclx primaries 12); read
    // back and converted, they match the sRGB original. Default: plain sRGB.
    let kept = process(
        &fixture("color/p3.jpg"),
        avif_spec("color = \"keep\""),
        None,
    );
    let data = &kept.renditions[0].data;
    let at = data
        .windows(8)
        .position(|w| w == b"colrnclx")
        .expect("nclx box");
    assert_eq!(&data[at + 8..at + 10], &[0, 12], "Display P3 primaries");
    let reference = decode_rgba(&fixture("color/reference-srgb.png"));
    let db = psnr(
        &decode_rgba(&roundtrip(data).renditions[0].data),
        &reference,
    );
    assert!(db > 30.0, "kept P3 read back: {db:.1} dB");
    let srgb = process(&fixture("color/p3.jpg"), avif_spec(""), None);
    let data = &srgb.renditions[0].data;
    assert!(!data
        .windows(10)
        .any(|w| w[..8] == *b"colrnclx" && w[8..] == [0, 12]));
    let db = psnr(
        &decode_rgba(&roundtrip(data).renditions[0].data),
        &reference,
    );
    assert!(db > 30.0, "converted to sRGB: {db:.1} dB");

    // speed belongs to AVIF, 1-10.
    for bad in [
        "[[variants]]\nname = \"a\"\nwidth = 9\nformat = \"jpeg\"\nspeed = 5\n",
        "[[variants]]\nname = \"a\"\nwidth = 9\nformat = \"avif\"\nspeed = 11\n",
    ] {
        assert!(Spec::from_toml(bad).is_err(), "{bad}");
    }
}

#[test]
fn heic_and_avif_colour_from_an_icc_profile_or_nclx_is_managed() {
    let reference = decode_rgba(&fixture("color/reference-srgb.png"));
    let raw = decode_rgba(&fixture("color/p3.jpg"));
    for file in ["heif/p3-icc.heic", "heif/p3-icc.avif", "heif/p3-nclx.avif"] {
        let processed = process(&fixture(file), spec(PLAIN_PNG), None);
        let out = decode_rgba(&processed.renditions[0].data);
        let db = psnr(&out, &reference);
        assert!(db > 30.0, "{file}: {db:.1} dB against the sRGB original");
        // Reading the P3 numbers as sRGB would be visibly further away.
        assert!(
            db > psnr(&raw, &reference) + 3.0,
            "{file}: colour not converted"
        );
    }
}

#[test]
fn cascaded_variants_match_direct_resizes() {
    // md and thumb are cut from the xl result; they must be as good as made from the source.
    let photo = image::load_from_memory(&fixture("photos/coffee.jpg")).unwrap();
    let big = photo.resize_exact(3000, 2000, image::imageops::FilterType::CatmullRom);
    let mut source = std::io::Cursor::new(Vec::new());
    big.write_to(&mut source, image::ImageFormat::Png).unwrap();
    let source = source.into_inner();
    let cascaded = process(&source, spec("[[variants]]\nname='xl'\nwidth=2048\nformat='png'\n[[variants]]\nname='md'\nwidth=512\nformat='png'\n[[variants]]\nname='t'\nwidth=256\nheight=256\nfit='cover'\nformat='png'\n[watermark.logo]\nenabled=false"), None);
    for (name, toml) in [
        ("md", "[[variants]]\nname='md'\nwidth=512\nformat='png'\n[watermark.logo]\nenabled=false"),
        ("t", "[[variants]]\nname='t'\nwidth=256\nheight=256\nfit='cover'\nformat='png'\n[watermark.logo]\nenabled=false"),
    ] {
        // The same crop: the focal point is measured on whatever full frame is smallest.
        let focus = cascaded.info.focus.map(|f| f.point());
        let direct = Pipeline::new(spec(toml))
            .unwrap()
            .process_focused(&source, None, focus)
            .unwrap();
        let a = decode_rgba(&rendition(&cascaded, name, "png").data);
        let b = decode_rgba(&direct.renditions[0].data);
        let db = psnr(&a, &b);
        assert!(db > 38.0, "{name}: cascade is {db:.1} dB from a direct resize");
    }
}

#[test]
fn outputs_carry_no_exif_or_gps_and_records_keep_only_the_safe_subset() {
    let processed = process(
        &fixture("photos/exif-gps.jpg"),
        Spec::default(),
        Some("ana"),
    );
    for r in &processed.renditions {
        let needle = |n: &[u8]| r.data.windows(n.len()).any(|w| w == n);
        assert!(!needle(b"Exif"), "{} has an EXIF block", r.file_name());
        assert!(!needle(b"PictorCam"), "{} leaks the camera", r.file_name());
        assert!(!needle(b"EXIF"), "{} has a WebP EXIF chunk", r.file_name());
        let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&r.data));
        assert!(exif.is_err(), "{} has readable EXIF", r.file_name());
    }
    let exif = &processed.info.exif;
    assert_eq!(exif.camera_make.as_deref(), Some("PictorCam"));
    assert_eq!(exif.camera_model.as_deref(), Some("Model 7"));
    assert_eq!(exif.captured_at.as_deref(), Some("2024:05:06 07:08:09"));
    let json = serde_json::to_string(&processed.info).unwrap();
    assert!(
        !json.to_lowercase().contains("gps") && !json.contains("52"),
        "{json}"
    );
}

/// `progressive = true`: a progressive JPEG (SOF2) of the same picture as the baseline one
/// (SOF0), encoded separately even from the same pixels at the same quality; other formats
/// refuse it, and a spec without it keeps the hash it had.
#[test]
fn progressive_jpeg_is_a_spec_option() {
    let both = spec(
        "[[variants]]\nname = 'base'\nwidth = 300\nformat = 'jpeg'\n\
         [[variants]]\nname = 'prog'\nwidth = 300\nformat = 'jpeg'\nprogressive = true\n\
         [watermark]\nmin_width = 10000\n",
    );
    let processed = process(&fixture("photos/coffee.jpg"), both, None);
    let marker = |data: &[u8], sof: u8| data.windows(2).any(|w| w == [0xFF, sof]);
    let base = rendition(&processed, "base", "jpg");
    let prog = rendition(&processed, "prog", "jpg");
    assert!(
        marker(&base.data, 0xC0) && !marker(&base.data, 0xC2),
        "baseline"
    );
    assert!(marker(&prog.data, 0xC2), "progressive");
    let decoded = |r: &pictor_image::pipeline::Rendition| {
        image::load_from_memory(&r.data).unwrap().into_rgb8()
    };
    let (a, b) = (decoded(base), decoded(prog));
    assert_eq!(a.dimensions(), b.dimensions());
    let worst = a
        .pixels()
        .zip(b.pixels())
        .flat_map(|(p, q)| (0..3).map(move |c| (i16::from(p[c]) - i16::from(q[c])).abs()))
        .max()
        .unwrap();
    assert!(worst <= 8, "the same picture, within rounding: {worst}");

    let refused = Spec::from_toml(
        "[[variants]]\nname = 'w'\nwidth = 300\nformat = 'webp'\nprogressive = true\n",
    )
    .unwrap_err();
    assert!(
        refused.to_string().contains("progressive is for JPEG"),
        "{refused}"
    );
    let plain = spec("[[variants]]\nname = 'a'\nwidth = 300\nformat = 'jpeg'\n");
    let mut off = plain.clone();
    off.variants[0].progressive = false;
    let hash = |s: &Spec| pictor_image::spec::spec_hash(s, b"");
    assert_eq!(hash(&plain), hash(&off));
    off.variants[0].progressive = true;
    assert_ne!(hash(&plain), hash(&off));
}

/// `color = "keep"`: a Display P3 source keeps its pixels and its profile in every format,
/// while the default turns it into sRGB with no profile; EXIF stays out either way.
#[test]
fn keep_colour_carries_a_wide_gamut_profile_into_every_format() {
    use image::ImageDecoder;
    let source = fixture("color/p3.jpg");
    let profile_of = |bytes: &[u8]| {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .unwrap()
            .into_decoder()
            .unwrap()
            .icc_profile()
            .unwrap()
    };
    let p3 = profile_of(&source).expect("the fixture carries its P3 profile");
    let variants = "[[variants]]\nname = 'j'\nwidth = 120\nformat = 'jpeg'\n\
        [[variants]]\nname = 'w'\nwidth = 120\nformat = 'webp'\n\
        [[variants]]\nname = 'p'\nwidth = 120\nformat = 'png'\n\
        [watermark]\nmin_width = 10000\n";
    let kept = process(&source, spec(&format!("color = 'keep'\n{variants}")), None);
    let converted = process(&source, spec(variants), None);
    let mean = |bytes: &[u8]| {
        let img = image::load_from_memory(bytes).unwrap().into_rgb8();
        let n = f64::from(img.width() * img.height());
        let mut sums = [0f64; 3];
        for p in img.pixels() {
            for c in 0..3 {
                sums[c] += f64::from(p[c]);
            }
        }
        sums.map(|s| s / n)
    };
    // What the file's bytes say before any conversion.
    let raw = mean(&source);
    for ext in ["jpg", "webp", "png"] {
        let name = &ext[..1];
        let keep = rendition(&kept, name, ext);
        let srgb = rendition(&converted, name, ext);
        assert_eq!(profile_of(&keep.data).as_ref(), Some(&p3), "{ext} keeps P3");
        assert_eq!(profile_of(&srgb.data), None, "{ext} in sRGB has no profile");
        let (k, s) = (mean(&keep.data), mean(&srgb.data));
        let gap =
            |a: [f64; 3], b: [f64; 3]| (0..3).map(|c| (a[c] - b[c]).abs()).fold(0.0, f64::max);
        assert!(
            gap(k, raw) < 2.5,
            "{ext}: kept pixels are the source's: {k:?} vs {raw:?}"
        );
        assert!(
            gap(k, s) > 3.0,
            "{ext}: sRGB pixels are converted: {k:?} vs {s:?}"
        );
        assert!(
            !keep.data.windows(4).any(|w| w == b"Exif"),
            "{ext}: no EXIF"
        );
    }
    // A source without a profile is sRGB whatever the spec says: nothing is embedded.
    let plain = process(
        &fixture("photos/coffee.jpg"),
        spec(&format!("color = 'keep'\n{variants}")),
        None,
    );
    for r in &plain.renditions {
        assert_eq!(profile_of(&r.data), None, "{}", r.file_name());
    }
    // A spec that does not ask keeps the hash it had before the choice existed.
    let hash = |s: &Spec| pictor_image::spec::spec_hash(s, b"");
    let keep = Spec {
        color: pictor_image::spec::ColorMode::Keep,
        ..Spec::default()
    };
    assert_ne!(hash(&Spec::default()), hash(&keep));
}

/// EXIF as cameras and libraries write it: each summary is read whole, whatever else in the
/// block the parser refuses (piexif's GPS block made it drop everything), and no GPS value
/// reaches the record or a rendition.
#[test]
fn camera_metadata_is_read_from_every_writer_and_gps_from_none() {
    let cases = [
        (
            "camera-canon.jpg",
            "Canon",
            "Canon PowerShot G1 X Mark II",
            "2013:12:17 14:04:24",
        ),
        (
            "camera-olympus.jpg",
            "OLYMPUS IMAGING CORP.",
            "STYLUS1",
            "2013:11:12 13:54:29",
        ),
        (
            "camera-ricoh.jpg",
            "PENTAX RICOH IMAGING",
            "GR",
            "2013:03:29 10:06:41",
        ),
        ("camera-sony.jpg", "SONY", "DSC-RX1R", "2013:04:13 10:22:18"),
        (
            "piexif-gps.jpg",
            "PiexifCam",
            "Model P",
            "2024:05:06 07:08:09",
        ),
        (
            "pillow-gps.jpg",
            "PillowCam",
            "Model L",
            "2023:01:02 03:04:05",
        ),
    ];
    for (file, make, model, captured) in cases {
        let processed = process(&fixture(&format!("exif/{file}")), Spec::default(), None);
        let exif = &processed.info.exif;
        assert_eq!(exif.camera_make.as_deref(), Some(make), "{file}");
        assert_eq!(exif.camera_model.as_deref(), Some(model), "{file}");
        assert_eq!(exif.captured_at.as_deref(), Some(captured), "{file}");
        let json = serde_json::to_string(&processed.info).unwrap();
        assert!(!json.to_lowercase().contains("gps"), "{file}: {json}");
        for r in &processed.renditions {
            assert!(
                !r.data.windows(make.len()).any(|w| w == make.as_bytes()),
                "{file}: {} leaks the camera",
                r.file_name()
            );
        }
    }
}

fn gray_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([100, 100, 100]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn changed(img: &image::RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            if img.get_pixel(x, y).0[..3] != [100, 100, 100] {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn watermark_sits_in_its_corner_and_skips_small_variants() {
    let spec = spec(
        r#"
        [[variants]]
        name = "md"
        width = 512
        format = "png"
        [[variants]]
        name = "small"
        width = 256
        format = "png"
        "#,
    );
    let processed = process(&gray_png(1000, 800), spec.clone(), Some("Ana"));
    let md = decode_rgba(&rendition(&processed, "md", "png").data);
    assert_eq!(md.dimensions(), (512, 410));
    // Logo: bottom-right, 20% of the width (~102 px), brighter than the grey (white mark).
    assert!(
        changed(&md, 400, 360, 512, 410) > 300,
        "no logo bottom-right"
    );
    let logo_pixel = (400..512)
        .flat_map(|x| (360..410).map(move |y| (x, y)))
        .map(|(x, y)| md.get_pixel(x, y).0[0])
        .max()
        .unwrap();
    assert!(logo_pixel > 150, "logo not visible: brightest {logo_pixel}");
    // Text "© Ana": bottom-left.
    assert!(changed(&md, 0, 370, 150, 410) > 50, "no text bottom-left");
    // Elsewhere untouched.
    assert_eq!(changed(&md, 0, 0, 512, 300), 0);
    // Below the minimum width: nothing at all.
    let small = decode_rgba(&rendition(&processed, "small", "png").data);
    assert_eq!(changed(&small, 0, 0, small.width(), small.height()), 0);
    // Without a creator the text is left out, the logo stays.
    let anonymous = process(&gray_png(1000, 800), spec, None);
    let md = decode_rgba(&rendition(&anonymous, "md", "png").data);
    assert_eq!(changed(&md, 0, 370, 150, 410), 0);
    assert!(changed(&md, 400, 360, 512, 410) > 300);
}

#[test]
fn alpha_is_flattened_for_jpeg_and_resized_without_dark_fringes() {
    let spec = spec(
        r##"
        background = "#ffffff"
        [[variants]]
        name = "half"
        width = 60
        format = "png"
        [[variants]]
        name = "half"
        width = 60
        format = "jpeg"
        [watermark.logo]
        enabled = false
        "##,
    );
    let processed = process(&fixture("png/half-transparent.png"), spec, None);
    assert!(processed.info.has_alpha);
    let png = decode_rgba(&rendition(&processed, "half", "png").data);
    assert_eq!(png.dimensions(), (60, 40));
    for x in 0..60 {
        let p = png.get_pixel(x, 20).0;
        if p[3] > 8 {
            assert!(p[0] > 240 && p[1] < 16, "dark fringe at x={x}: {p:?}");
        }
    }
    assert_eq!(png.get_pixel(55, 20).0[3], 0);
    let jpg = decode_rgba(&rendition(&processed, "half", "jpg").data);
    let right = jpg.get_pixel(55, 20).0;
    assert!(
        right[..3].iter().all(|&c| c > 245),
        "transparent area not white: {right:?}"
    );
    let left = jpg.get_pixel(5, 20).0;
    assert!(left[0] > 230 && left[1] < 30, "opaque red lost: {left:?}");
}

#[test]
fn colour_is_managed_for_cmyk_ycck_and_icc_tagged_sources() {
    let reference = decode_rgba(&fixture("color/reference-srgb.png"));
    for (file, min_db) in [
        ("color/cmyk.jpg", 28.0),
        ("color/ycck.jpg", 28.0),
        ("color/p3.jpg", 32.0),
    ] {
        let processed = process(&fixture(file), spec(PLAIN_PNG), None);
        let out = decode_rgba(&processed.renditions[0].data);
        let db = psnr(&out, &reference);
        assert!(db > min_db, "{file}: {db:.1} dB against the sRGB original");
    }
    // Ignoring the P3 profile would be visibly wrong: the raw numbers are further away.
    let raw = decode_rgba(&fixture("color/p3.jpg"));
    let converted =
        decode_rgba(&process(&fixture("color/p3.jpg"), spec(PLAIN_PNG), None).renditions[0].data);
    assert!(psnr(&converted, &reference) > psnr(&raw, &reference) + 3.0);
}

#[test]
fn sixteen_bit_palette_gif_webp_and_gray_inputs() {
    let rgb16 = process(&fixture("png/rgb16.png"), spec(PLAIN_PNG), None);
    let img = decode_rgba(&rgb16.renditions[0].data);
    assert_eq!(
        img.get_pixel(5, 5).0,
        [128, 128, 128, 255],
        "0x8080 must become 128"
    );

    let palette = process(&fixture("png/palette-trns.png"), spec(PLAIN_PNG), None);
    assert!(palette.info.has_alpha);
    let img = decode_rgba(&palette.renditions[0].data);
    assert_eq!(img.get_pixel(5, 5).0, [255, 0, 0, 255]);
    assert_eq!(img.get_pixel(30, 5).0, [0, 0, 255, 255]);
    assert_eq!(img.get_pixel(5, 20).0[3], 0);

    let gif = process(&fixture("gif/animated.gif"), spec(PLAIN_PNG), None);
    assert_eq!(gif.info.frame_count, 3);
    assert_eq!(gif.info.format, SourceFormat::Gif);
    assert_eq!(
        decode_rgba(&gif.renditions[0].data).get_pixel(10, 10).0,
        [255, 0, 0, 255]
    );

    let webp = process(&fixture("webp/lossy-alpha.webp"), spec(PLAIN_PNG), None);
    assert!(webp.info.has_alpha);
    assert_eq!((webp.info.width, webp.info.height), (300, 200));
    let lossless = process(&fixture("webp/lossless.webp"), spec(PLAIN_PNG), None);
    assert!(!lossless.info.has_alpha);

    for file in ["color/gray.jpg", "color/progressive.jpg"] {
        let p = process(&fixture(file), Spec::default(), None);
        assert_eq!((p.info.width, p.info.height), (300, 200), "{file}");
        assert!(p.info.blurhash.is_some() && p.info.dominant_color.is_some());
    }
}

/// Straightforward f64 Lanczos3, the reference the SIMD resize is held to.
fn reference_resize(src: &image::RgbImage, w: u32, h: u32) -> image::RgbaImage {
    fn weights(src_len: u32, dst_len: u32) -> Vec<(i64, Vec<f64>)> {
        let scale = f64::from(src_len) / f64::from(dst_len);
        let support = 3.0 * scale.max(1.0);
        let lanczos = |x: f64| {
            if x == 0.0 {
                1.0
            } else if x.abs() < 3.0 {
                let px = std::f64::consts::PI * x;
                3.0 * px.sin() * (px / 3.0).sin() / (px * px)
            } else {
                0.0
            }
        };
        (0..dst_len)
            .map(|i| {
                let center = (f64::from(i) + 0.5) * scale;
                let lo = (center - support).floor().max(0.0) as i64;
                let hi = ((center + support).ceil() as i64).min(i64::from(src_len));
                let mut ws: Vec<f64> = (lo..hi)
                    .map(|j| lanczos((j as f64 + 0.5 - center) / scale.max(1.0)))
                    .collect();
                let sum: f64 = ws.iter().sum();
                ws.iter_mut().for_each(|v| *v /= sum);
                (lo, ws)
            })
            .collect()
    }
    let (sw, sh) = src.dimensions();
    let wx = weights(sw, w);
    let wy = weights(sh, h);
    let mut tmp = vec![[0f64; 3]; (w * sh) as usize];
    for y in 0..sh {
        for (x, (lo, ws)) in wx.iter().enumerate() {
            let mut acc = [0f64; 3];
            for (k, wgt) in ws.iter().enumerate() {
                let p = src.get_pixel((*lo + k as i64) as u32, y).0;
                (0..3).for_each(|c| acc[c] += wgt * f64::from(p[c]));
            }
            tmp[(y * w) as usize + x] = acc;
        }
    }
    image::RgbaImage::from_fn(w, h, |x, y| {
        let (lo, ws) = &wy[y as usize];
        let mut acc = [0f64; 3];
        for (k, wgt) in ws.iter().enumerate() {
            let p = tmp[((*lo + k as i64) as u32 * w + x) as usize];
            (0..3).for_each(|c| acc[c] += wgt * p[c]);
        }
        let v = |c: usize| acc[c].round().clamp(0.0, 255.0) as u8;
        image::Rgba([v(0), v(1), v(2), 255])
    })
}

#[test]
fn simd_resize_matches_a_float_lanczos3_reference() {
    let src = image::load_from_memory(&fixture("photos/coffee.jpg"))
        .unwrap()
        .into_rgb8();
    let canvas = Canvas {
        width: 600,
        height: 400,
        has_alpha: false,
        data: src.as_raw().clone(),
    };
    let variant = Variant {
        name: "r".into(),
        width: 233,
        height: None,
        fit: Fit::Inside,
        format: OutputFormat::Png,
        quality: 1.into(),
        progressive: false,
        speed: None,
        focus: None,
    };
    let geometry = plan(
        600,
        400,
        &variant,
        pictor_image::pipeline::FocalPoint::CENTRE,
    );
    let ours = resize(&mut fast_image_resize::Resizer::new(), &canvas, &geometry).unwrap();
    let ours = image::RgbaImage::from_fn(ours.width, ours.height, |x, y| {
        let p = ours.pixel(x, y);
        image::Rgba([p[0], p[1], p[2], 255])
    });
    let reference = reference_resize(&src, geometry.width, geometry.height);
    let db = psnr(&ours, &reference);
    assert!(db > 40.0, "SIMD resize is {db:.1} dB from the reference");
    // And a nearest-neighbour shrink is clearly worse, so the threshold means something.
    let nearest = image::imageops::resize(
        &src,
        geometry.width,
        geometry.height,
        image::imageops::FilterType::Nearest,
    );
    let nearest = image::DynamicImage::ImageRgb8(nearest).into_rgba8();
    assert!(psnr(&nearest, &reference) < db - 6.0);
}

/// Holds one format's rendition to the structure of the perfect pixels: an f64 Lanczos3 resize
/// of the decoded source. The bar is what `encode_reference` makes of those perfect pixels at the
/// same quality, so neither our resize nor our hand-over to the encoder may lose more than that.
/// A q30 rendition must score clearly lower, so the measure can tell.
fn keeps_the_structure_of_a_float_reference(
    format: &str,
    quality: u8,
    encode_reference: impl Fn(&image::RgbaImage, u8) -> Vec<u8>,
) {
    // No ICC profile, so the decoded pixels are already the sRGB the pipeline works in.
    let source_bytes = fixture("photos/coffee.jpg");
    let src = image::load_from_memory(&source_bytes).unwrap().into_rgb8();
    let toml = |q: u8| {
        format!("[[variants]]\nname='v'\nwidth=320\nformat='{format}'\nquality={q}\n[watermark.logo]\nenabled=false")
    };
    let ours = process(&source_bytes, spec(&toml(quality)), None);
    let ours = decode_rgba(&ours.renditions[0].data);
    let reference = reference_resize(&src, ours.width(), ours.height());

    let bar = ssim(
        &decode_rgba(&encode_reference(&reference, quality)),
        &reference,
    );
    let score = ssim(&ours, &reference);
    assert!(
        score >= bar - 0.005 && score > 0.95,
        "{format}: SSIM {score:.4} against the float reference; the reference encoded scores {bar:.4}"
    );
    let low = process(&source_bytes, spec(&toml(30)), None);
    let low = ssim(&decode_rgba(&low.renditions[0].data), &reference);
    assert!(
        low < score - 0.02,
        "{format}: q30 scores {low:.4}, q{quality} {score:.4}"
    );
}

#[test]
fn jpeg_renditions_keep_the_structure_of_a_float_reference() {
    // The bar is an independent encoder at the same quality and subsampling (q82, 4:2:0).
    keeps_the_structure_of_a_float_reference("jpeg", 82, |reference, quality| {
        let rgb = image::DynamicImage::ImageRgba8(reference.clone()).into_rgb8();
        let mut independent = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut independent, quality);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        encoder
            .encode(
                rgb.as_raw(),
                rgb.width() as u16,
                rgb.height() as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        independent
    });
}

#[test]
fn webp_renditions_keep_the_structure_of_a_float_reference() {
    // There is one lossy WebP encoder, so the bar is libwebp itself (q80, method 4) fed the
    // perfect pixels: what the codec alone loses.
    keeps_the_structure_of_a_float_reference("webp", 80, |reference, quality| {
        let rgb = image::DynamicImage::ImageRgba8(reference.clone()).into_rgb8();
        let canvas = Canvas {
            width: rgb.width(),
            height: rgb.height(),
            has_alpha: false,
            data: rgb.into_raw(),
        };
        encode(&canvas, Encoding::new(OutputFormat::Webp, quality)).unwrap()
    });
}

#[test]
fn hostile_files_fail_with_a_reason_and_never_panic() {
    let cases = [
        ("hostile/empty.jpg", ErrorKind::Unsupported, "empty"),
        ("hostile/text.jpg", ErrorKind::Unsupported, "text"),
        ("hostile/drawing.png", ErrorKind::Unsupported, "SVG"),
        ("hostile/scan.tif", ErrorKind::Unsupported, "TIFF"),
        ("hostile/truncated.jpg", ErrorKind::Corrupt, "truncated"),
        ("hostile/corrupted.jpg", ErrorKind::Corrupt, "component"),
        ("hostile/corrupted.png", ErrorKind::Corrupt, "Png"),
        ("hostile/bomb.png", ErrorKind::TooLarge, "megapixels"),
        (
            "hostile/huge-header.png",
            ErrorKind::TooLarge,
            "pixels per side",
        ),
        ("hostile/truncated.heic", ErrorKind::Corrupt, "HEIC"),
        ("hostile/truncated.avif", ErrorKind::Corrupt, "AVIF"),
        ("hostile/corrupted.heic", ErrorKind::Corrupt, "HEIC"),
        ("hostile/corrupted.avif", ErrorKind::Corrupt, "AV1"),
        (
            "hostile/huge-header.heic",
            ErrorKind::TooLarge,
            "pixels per side",
        ),
        (
            "hostile/huge-header.avif",
            ErrorKind::TooLarge,
            "pixels per side",
        ),
        (
            "hostile/grid-bomb.heic",
            ErrorKind::TooLarge,
            "pixels per side",
        ),
        (
            "hostile/sequence-only.avif",
            ErrorKind::Unsupported,
            "sequence",
        ),
    ];
    let pipeline = Pipeline::new(Spec::default()).unwrap();
    for (file, kind, hint) in cases {
        let err = pipeline.process(&fixture(file), None).unwrap_err();
        assert_eq!(err.kind, kind, "{file}: {err}");
        assert!(err.message.contains(hint), "{file}: {err}");
    }
    // A file over the size limit is refused before decoding.
    let mut spec = Spec::default();
    spec.limits.max_file_bytes = 1000;
    let err = Pipeline::new(spec)
        .unwrap()
        .process(&fixture("photos/coffee.jpg"), None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
}

#[test]
fn random_corruption_of_real_files_never_panics() {
    // Deterministic xorshift so a failure is reproducible.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pipeline = Pipeline::new(spec(PLAIN_PNG)).unwrap();
    for file in [
        "photos/coffee.jpg",
        "png/alpha.png",
        "gif/animated.gif",
        "webp/lossy-alpha.webp",
        "color/progressive.jpg",
        "heif/photo.heic",
        "heif/photo.avif",
        "heif/alpha.avif",
        "heif/grid.heic",
    ] {
        let original = fixture(file);
        for _ in 0..25 {
            let mut bytes = original.clone();
            for _ in 0..8 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            if next() % 3 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
            // Ok or a typed error are both fine; a panic or an abort is not.
            let _ = pipeline.process(&bytes, None);
        }
    }
}

#[test]
fn parallel_encoding_gives_the_same_files() {
    // A JPEG, and a HEIC grid whose tiles are decoded in parallel too.
    for file in ["photos/coffee.jpg", "heif/grid.heic"] {
        let bytes = fixture(file);
        let one = Pipeline::new(Spec::default())
            .unwrap()
            .process(&bytes, Some("ana"))
            .unwrap();
        let four = Pipeline::new(Spec::default())
            .unwrap()
            .with_threads(4)
            .process(&bytes, Some("ana"))
            .unwrap();
        assert_eq!(one.renditions, four.renditions, "{file}");
    }
}

/// (left, top, right, bottom) in pixels.
type Rect = (f64, f64, f64, f64);

/// Portraits with the face off the centre, the face box (left, top, right, bottom) in their
/// upright pixels (see testdata/README.md), and the upright picture they show.
const PORTRAITS: &[(&str, Rect, &str)] = &[
    (
        "portraits/astronaut-tall.jpg",
        (74.0, 55.0, 179.0, 190.0),
        "portraits/astronaut-tall.jpg",
    ),
    (
        "portraits/astronaut-tall-o6.jpg",
        (74.0, 55.0, 179.0, 190.0),
        "portraits/astronaut-tall.jpg",
    ),
    (
        "portraits/astronaut-tall-o7.jpg",
        (74.0, 55.0, 179.0, 190.0),
        "portraits/astronaut-tall.jpg",
    ),
    (
        "portraits/astronaut-side.jpg",
        (70.0, 23.0, 175.0, 158.0),
        "portraits/astronaut-side.jpg",
    ),
    (
        "portraits/camera-tall.jpg",
        (47.0, 95.0, 127.0, 195.0),
        "portraits/camera-tall.jpg",
    ),
];

/// The upright region (left, top, width, height) of `geometry`'s crop, resized to its
/// output size the way an independent tool would.
fn cut(upright: &image::RgbImage, crop: (f64, f64, f64, f64), w: u32, h: u32) -> image::RgbaImage {
    let (l, t, cw, ch) = crop;
    let region =
        image::imageops::crop_imm(upright, l as u32, t as u32, cw as u32, ch as u32).to_image();
    let resized = image::imageops::resize(&region, w, h, image::imageops::FilterType::Lanczos3);
    image::DynamicImage::ImageRgb8(resized).into_rgba8()
}

#[test]
fn cover_crops_keep_the_face_where_a_centred_crop_cuts_it() {
    use pictor_image::pipeline::{resize, FocalPoint, FocusOrigin};
    let spec = spec(
        r#"
        [[variants]]
        name = "md"
        width = 128
        format = "png"
        [[variants]]
        name = "thumb"
        width = 256
        height = 256
        fit = "cover"
        format = "png"
        [[variants]]
        name = "strip"
        width = 160
        height = 256
        fit = "cover"
        format = "png"
        [watermark.logo]
        enabled = false
        "#,
    );
    let contains = |crop: (f64, f64, f64, f64), face: (f64, f64, f64, f64)| {
        let (l, t, w, h) = crop;
        l <= face.0 && t <= face.1 && l + w >= face.2 && t + h >= face.3
    };
    for &(file, face, upright_file) in PORTRAITS {
        let processed = process(&fixture(file), spec.clone(), None);
        let info = &processed.info;
        let focus = info.focus.expect("a focal point is recorded");
        assert_eq!(focus.origin, FocusOrigin::Auto);
        let upright = image::load_from_memory(&fixture(upright_file))
            .unwrap()
            .into_rgb8();
        assert_eq!((info.width, info.height), upright.dimensions(), "{file}");
        let mut cropped_somewhere = false;
        for variant in spec.variants.iter().filter(|v| v.name != "md") {
            let planned = resize::plan(info.width, info.height, variant, focus.point());
            let centred = resize::plan(info.width, info.height, variant, FocalPoint::CENTRE);
            let (Some(crop), Some(centred_crop)) = (planned.crop, centred.crop) else {
                continue;
            };
            if contains(centred_crop, face) {
                continue;
            }
            cropped_somewhere = true;
            assert!(
                contains(crop, face),
                "{file} {}: focus {focus:?} gives crop {crop:?}, which cuts the face {face:?}",
                variant.name
            );
            // The rendition is that region, not the centre.
            let made = decode_rgba(&rendition(&processed, &variant.name, "png").data);
            let (w, h) = made.dimensions();
            let at_focus = psnr(&made, &cut(&upright, crop, w, h));
            let at_centre = psnr(&made, &cut(&upright, centred_crop, w, h));
            assert!(
                at_focus > 30.0 && at_centre < at_focus - 10.0,
                "{file} {}: {at_focus:.1} dB against the focal crop, {at_centre:.1} against the centre",
                variant.name
            );
        }
        assert!(
            cropped_somewhere,
            "{file}: no variant where the centre cuts the face"
        );
    }
}

/// A SSIMULACRA2 target: every rendition reaches it (its recorded score is its own, measured
/// again here), a simple picture gets a lower quality than a detailed one, and a fixed quality
/// records neither field.
#[test]
fn a_perceptual_target_is_met_by_every_rendition_at_a_quality_of_its_own() {
    let toml = "[[variants]]\nname='lg'\nwidth=400\nformat='jpeg'\nquality={ ssimulacra2 = 78 }\n\
                [[variants]]\nname='lg'\nwidth=400\nformat='webp'\nquality={ ssimulacra2 = 78 }\n\
                [[variants]]\nname='sm'\nwidth=160\nformat='jpeg'\nquality=80\n";
    let mut qualities = Vec::new();
    for photo in ["photos/coffee.jpg", "photos/rocket.jpg"] {
        let out = process(&fixture(photo), spec(toml), Some("Ada"));
        for r in &out.renditions[..2] {
            let score = r
                .ssimulacra2
                .expect("a targeted rendition records its score");
            assert!(score >= 78.0, "{photo} {}: {score}", r.file_name());
            let quality = r.quality.expect("and its quality");
            assert!((10..=100).contains(&quality));
            qualities.push((photo, r.format, quality));
        }
        let fixed = &out.renditions[2];
        assert_eq!((fixed.quality, fixed.ssimulacra2), (None, None));
    }
    // rocket.jpg (fine detail against a sky) needs more than coffee.jpg in both formats.
    for format in [OutputFormat::Jpeg, OutputFormat::Webp] {
        let of = |photo| {
            qualities
                .iter()
                .find(|(p, f, _)| *p == photo && *f == format)
                .map(|(_, _, q)| *q)
                .unwrap()
        };
        assert_ne!(of("photos/coffee.jpg"), of("photos/rocket.jpg"), "{format}");
    }
}

#[test]
fn a_target_is_written_as_a_table_and_checked() {
    let ok = Spec::from_toml(
        "[[variants]]\nname='a'\nwidth=10\nformat='avif'\nquality={ ssimulacra2 = 82.5 }",
    )
    .unwrap();
    assert_eq!(
        ok.variants[0].quality,
        pictor_image::spec::Quality::Ssimulacra2(82.5)
    );
    for (toml, expected) in [
        ("quality={ ssimulacra2 = 99 }", "30-95"),
        (
            "quality={ ssimulacra2 = 80 }\nformat='png'",
            "PNG is lossless",
        ),
        ("quality={ butteraugli = 1 }", "unknown field `butteraugli`"),
        ("quality=300", "1-100"),
        ("quality='high'", "a quality from 1 to 100, or a target"),
    ] {
        let format = if toml.contains("format") {
            ""
        } else {
            "format='jpeg'\n"
        };
        let text = format!("[[variants]]\nname='a'\nwidth=10\n{format}{toml}");
        let err = Spec::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains(expected), "{toml}: {err}");
    }
}
