//! Lossy WebP through libwebp's advanced API.
//!
//! Why not a higher-level crate: the only one on crates.io pins libwebp 1.3 built without SSE4.1
//! and imports pixels as ARGB, which costs a full extra pass before the RGB -> YUV conversion.
//! Importing straight to YUV with a current libwebp encodes the same picture markedly faster.

use crate::error::ProcessError;
use libwebp_sys as sys;
use std::ffi::{c_int, c_void};
use std::mem::MaybeUninit;

/// libwebp refuses larger pictures.
const MAX_SIDE: u32 = 16383;
/// The same effort every peer uses by default: good compression at a sane speed.
const METHOD: c_int = 4;
/// libwebp's alpha pre-filter: 0 none, 1 fast (its default), 2 best. At method 4 "fast"
/// compresses the alpha plane twice, with the filter it estimates best and unfiltered, and
/// keeps the smaller; the lossless coder's own prediction already does a filter's work, so
/// the unfiltered one keeps winning, and compressing once halves the alpha plane's cost.
/// `unfiltered_alpha_stays_within_one_percent_of_libwebps_default` holds the bytes to it.
const ALPHA_FILTERING: c_int = 0;
/// libwebp's own default alpha pre-filter, kept for the comparison above.
const LIBWEBP_DEFAULT_ALPHA_FILTERING: c_int = 1;

/// Encodes tightly packed RGB (or RGBA when `has_alpha`) rows as lossy WebP at `quality`.
/// With `second_thread`, libwebp encodes the alpha plane (most of the work for a picture with
/// alpha) and half of its analysis on a thread of its own; the bytes are the same.
pub(super) fn encode(
    data: &[u8],
    width: u32,
    height: u32,
    has_alpha: bool,
    quality: u8,
    second_thread: bool,
) -> Result<Vec<u8>, ProcessError> {
    let picture = Rows {
        data,
        width,
        height,
        has_alpha,
    };
    encode_with(&picture, quality, second_thread, ALPHA_FILTERING)
}

/// Packed RGB or RGBA rows.
struct Rows<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    has_alpha: bool,
}

/// The bytes of RGBA rows as Pictor writes them, and as libwebp's default alpha pre-filter
/// writes them (same quality, method and everything else), for the comparison of the two.
pub fn alpha_filter_bytes(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<(usize, usize), ProcessError> {
    let picture = Rows {
        data: rgba,
        width,
        height,
        has_alpha: true,
    };
    let ours = encode_with(&picture, quality, false, ALPHA_FILTERING)?;
    let default = encode_with(&picture, quality, false, LIBWEBP_DEFAULT_ALPHA_FILTERING)?;
    Ok((ours.len(), default.len()))
}

fn encode_with(
    rows: &Rows<'_>,
    quality: u8,
    second_thread: bool,
    alpha_filtering: c_int,
) -> Result<Vec<u8>, ProcessError> {
    let Rows {
        data,
        width,
        height,
        has_alpha,
    } = *rows;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ProcessError::internal(format!(
            "WebP cannot hold a {width}x{height} picture (at most {MAX_SIDE} px a side)"
        )));
    }
    let channels: u32 = if has_alpha { 4 } else { 3 };
    let stride = width * channels;
    if data.len() != stride as usize * height as usize {
        return Err(ProcessError::internal(
            "WebP encoder was given a buffer of the wrong size",
        ));
    }

    let config = config(quality, second_thread, alpha_filtering)?;
    let mut writer = MemoryWriter::new();
    let mut picture = Picture::new()?;
    let pic = &mut picture.0;
    // Sides and stride fit in c_int: they are bounded by MAX_SIDE above.
    pic.use_argb = 0;
    pic.width = width as c_int;
    pic.height = height as c_int;
    pic.writer = Some(sys::WebPMemoryWrite);
    pic.custom_ptr = (&mut writer.0 as *mut sys::WebPMemoryWriter).cast::<c_void>();

    // SAFETY: `data` holds `height` rows of `stride` bytes (checked above); the picture was
    // initialised by libwebp and owns whatever the import allocates (freed by `Picture::drop`).
    let imported = unsafe {
        if has_alpha {
            sys::WebPPictureImportRGBA(pic, data.as_ptr(), stride as c_int)
        } else {
            sys::WebPPictureImportRGB(pic, data.as_ptr(), stride as c_int)
        }
    };
    if imported == 0 {
        return Err(ProcessError::internal(
            "libwebp could not allocate the picture",
        ));
    }
    // SAFETY: config was validated; the picture and the writer it points to outlive the call.
    let encoded = unsafe { sys::WebPEncode(&config, pic) };
    if encoded == 0 {
        return Err(ProcessError::internal(format!(
            "WebP encoding failed ({:?})",
            pic.error_code
        )));
    }
    Ok(writer.bytes().to_vec())
}

fn config(
    quality: u8,
    second_thread: bool,
    alpha_filtering: c_int,
) -> Result<sys::WebPConfig, ProcessError> {
    let mut config = MaybeUninit::<sys::WebPConfig>::uninit();
    // SAFETY: libwebp fills every field of the config when it returns non-zero.
    let config = unsafe {
        if sys::WebPConfigInitInternal(
            config.as_mut_ptr(),
            sys::WebPPreset::WEBP_PRESET_DEFAULT,
            f32::from(quality.min(100)),
            sys::WEBP_ENCODER_ABI_VERSION as c_int,
        ) == 0
        {
            return Err(ProcessError::internal(
                "the linked libwebp is incompatible with its headers",
            ));
        }
        config.assume_init()
    };
    let mut config = config;
    config.method = METHOD;
    // Lossless alpha plane, as every peer writes it; the default, made explicit.
    config.alpha_compression = 1;
    config.alpha_quality = 100;
    config.alpha_filtering = alpha_filtering;
    config.thread_level = c_int::from(second_thread);
    // SAFETY: a fully initialised config.
    if unsafe { sys::WebPValidateConfig(&config) } == 0 {
        return Err(ProcessError::internal("libwebp rejected its configuration"));
    }
    Ok(config)
}

/// A `WebPPicture` whose buffers are released on every path.
struct Picture(sys::WebPPicture);

impl Picture {
    fn new() -> Result<Self, ProcessError> {
        sys::WebPPicture::new()
            .map(Self)
            .map_err(|()| ProcessError::internal("libwebp could not initialise a picture"))
    }
}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: initialised by libwebp; freeing an empty picture is a no-op.
        unsafe { sys::WebPPictureFree(&mut self.0) }
    }
}

/// libwebp's growable output buffer, released on drop.
struct MemoryWriter(sys::WebPMemoryWriter);

impl MemoryWriter {
    fn new() -> Self {
        let mut writer = MaybeUninit::<sys::WebPMemoryWriter>::uninit();
        // SAFETY: WebPMemoryWriterInit initialises every field.
        unsafe {
            sys::WebPMemoryWriterInit(writer.as_mut_ptr());
            Self(writer.assume_init())
        }
    }

    fn bytes(&self) -> &[u8] {
        if self.0.mem.is_null() {
            return &[];
        }
        // SAFETY: libwebp wrote `size` bytes at `mem`, which lives until `drop`.
        unsafe { std::slice::from_raw_parts(self.0.mem, self.0.size) }
    }
}

impl Drop for MemoryWriter {
    fn drop(&mut self) {
        // SAFETY: initialised by WebPMemoryWriterInit; clearing frees `mem` once.
        unsafe { sys::WebPMemoryWriterClear(&mut self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rgb_and_rgba_and_refuses_bad_buffers() {
        let rgb = vec![128u8; 16 * 8 * 3];
        let out = encode(&rgb, 16, 8, false, 80, false).unwrap();
        assert_eq!(&out[..4], b"RIFF");
        assert_eq!(&out[8..12], b"WEBP");

        let rgba = vec![200u8; 16 * 8 * 4];
        let out = encode(&rgba, 16, 8, true, 80, false).unwrap();
        assert_eq!(&out[8..12], b"WEBP");

        assert!(encode(&rgb[1..], 16, 8, false, 80, false).is_err());
        assert!(encode(&[], 0, 8, false, 80, false).is_err());
        assert!(encode(&rgb, 20_000, 1, false, 80, false).is_err());
    }

    /// Every fixture with alpha, whole and at a quarter of its width (where the pictures
    /// are smoother), encoded unfiltered and with libwebp's default pre-filter.
    #[test]
    fn unfiltered_alpha_stays_within_one_percent_of_libwebps_default() {
        let images = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/images");
        let mut compared = Vec::new();
        for folder in ["png", "webp", "gif", "photos"] {
            let mut files: Vec<_> = std::fs::read_dir(images.join(folder))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for file in files {
                let Ok(picture) = image::open(&file) else {
                    continue;
                };
                if !picture.color().has_alpha() {
                    continue;
                }
                let quarter = picture.resize(
                    (picture.width() / 4).max(1),
                    picture.height(),
                    image::imageops::FilterType::Lanczos3,
                );
                for version in [picture, quarter] {
                    let rgba = version.to_rgba8();
                    let (ours, default) =
                        alpha_filter_bytes(rgba.as_raw(), rgba.width(), rgba.height(), 80).unwrap();
                    let name = format!("{} at {}px", file.display(), rgba.width());
                    assert!(
                        ours as f64 <= default as f64 * 1.01,
                        "{name}: {ours} B unfiltered against {default} B"
                    );
                    compared.push(name);
                }
            }
        }
        assert!(
            compared.len() >= 6,
            "too few fixtures with alpha: {compared:?}"
        );
    }

    #[test]
    fn a_second_thread_writes_the_same_bytes() {
        // A soft-edged disc over a gradient: real work for both the lossy and the alpha coder.
        let (w, h) = (96u32, 64u32);
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 - 48.0).powi(2) + (y as f32 - 32.0).powi(2)).sqrt();
                let alpha = (255.0 - (d - 20.0).clamp(0.0, 10.0) * 25.5) as u8;
                rgba.extend_from_slice(&[
                    (x * 2) as u8,
                    (y * 3) as u8,
                    ((x + y) % 256) as u8,
                    alpha,
                ]);
            }
        }
        let alone = encode(&rgba, w, h, true, 80, false).unwrap();
        let helped = encode(&rgba, w, h, true, 80, true).unwrap();
        assert!(
            alone.windows(4).any(|c| c == b"ALPH"),
            "the alpha plane is encoded"
        );
        assert_eq!(alone, helped);
    }
}
