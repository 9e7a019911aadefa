//! One AV1 still picture decoded by rav1d, the Rust port of dav1d (BSD-2-Clause).
//!
//! rav1d's only public interface is dav1d's C API (`dav1d_*` functions over raw pointers), so
//! this module is the one place in the pipeline with `unsafe`: each call is the documented
//! send-data / get-picture sequence, and every picture and context is released on every path
//! by the guards below. Everything else sees a plain [`Planes`] value.

#![allow(unsafe_code)]

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
    DAV1D_PIXEL_LAYOUT_I444,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
};
use std::ptr::NonNull;

/// dav1d's "try again": the decoder wants the next call of the other kind.
const EAGAIN: i32 = -11;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Av1Error {
    #[error("the AV1 decoder could not start (code {0})")]
    Open(i32),
    #[error("the AV1 data is invalid (code {0})")]
    Invalid(i32),
    #[error("the AV1 data holds no picture")]
    NoPicture,
    #[error("the AV1 picture is {width}x{height}, over the limit of {limit} pixels")]
    TooLarge { width: u32, height: u32, limit: u64 },
    #[error("the AV1 picture has an unknown pixel layout")]
    Layout,
}

/// A decoded picture as planes of samples: Y, then U and V (empty when monochrome). 8-bit
/// streams are widened to `u16` so one code path converts every depth.
#[derive(Debug, Clone)]
pub struct Planes {
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (HEVC's `chroma_format_idc` numbering).
    pub chroma_format: u8,
    pub widths: [u32; 3],
    pub heights: [u32; 3],
    pub planes: [Vec<u16>; 3],
    /// How the sequence header says to read the samples (used when the container's `colr`
    /// does not say): YCbCr matrix and range.
    pub matrix: u16,
    pub full_range: bool,
}

/// Decodes the first picture of `obus` (an item's AV1 sample), refusing frames over
/// `max_pixels` inside the decoder, before it allocates them.
pub fn decode_still(obus: &[u8], max_pixels: u64) -> Result<Planes, Av1Error> {
    let decoder = Decoder::open(max_pixels)?;
    decoder.send(obus)?;
    let picture = decoder.picture()?;
    picture.planes(max_pixels)
}

struct Decoder(Option<Dav1dContext>);

impl Decoder {
    fn open(max_pixels: u64) -> Result<Decoder, Av1Error> {
        let mut settings = std::mem::MaybeUninit::<Dav1dSettings>::uninit();
        // SAFETY: `dav1d_default_settings` writes a whole `Dav1dSettings` to the pointer.
        let mut settings = unsafe {
            dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
            settings.assume_init()
        };
        // Two frame threads: rav1d's single-threaded path panics on some corrupt tile data
        // (its error handler unwraps a header it has already released), and a panic inside an
        // `extern "C"` function aborts the whole process. The threaded path reports the same
        // files as errors (found by fuzzing corrupted AVIF files; none abort or hang).
        settings.n_threads = 2;
        settings.max_frame_delay = 2;
        // SAFETY: the logger is a `repr(C)` pair of optional pointers; all zeroes is (None,
        // None), which rav1d reads as "no logger". Hostile files would otherwise print to stderr.
        settings.logger = unsafe { std::mem::zeroed() };
        settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
        let mut context: Option<Dav1dContext> = None;
        // SAFETY: both pointers are valid for the call; on success `context` holds a context
        // that `Drop` closes exactly once.
        let result = unsafe {
            dav1d_open(
                Some(NonNull::from(&mut context)),
                Some(NonNull::from(&mut settings)),
            )
        };
        if result.0 < 0 || context.is_none() {
            return Err(Av1Error::Open(result.0));
        }
        Ok(Decoder(context))
    }

    /// Hands the whole sample to the decoder (copied into a buffer it owns).
    fn send(&self, obus: &[u8]) -> Result<(), Av1Error> {
        let mut data = Dav1dData::default();
        // SAFETY: `dav1d_data_create` allocates `obus.len()` writable bytes owned by `data`.
        let buffer = unsafe { dav1d_data_create(Some(NonNull::from(&mut data)), obus.len()) };
        if buffer.is_null() {
            return Err(Av1Error::Invalid(-12));
        }
        // SAFETY: `buffer` points at `obus.len()` bytes that nothing else references.
        unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };
        let mut outcome = Ok(());
        while data.sz > 0 {
            // SAFETY: the context is open and `data` is a valid, owned `Dav1dData`.
            let result = unsafe { dav1d_send_data(self.0, Some(NonNull::from(&mut data))) };
            match result.0 {
                0 => {}
                // The decoder has a picture to hand out first; the rest is not needed for a
                // still image.
                EAGAIN => break,
                code => {
                    outcome = Err(Av1Error::Invalid(code));
                    break;
                }
            }
        }
        // SAFETY: releases whatever of `data` the decoder did not consume (no-op if empty).
        unsafe { dav1d_data_unref(Some(NonNull::from(&mut data))) };
        outcome
    }

    /// The decoded picture. With frame threads the first calls may find it still in flight;
    /// with all data sent, each call waits for the threads, so a few tries settle it.
    fn picture(&self) -> Result<Picture, Av1Error> {
        for _ in 0..8 {
            let mut picture = Picture(Dav1dPicture::default());
            // SAFETY: the context is open; on success the picture holds references that
            // `Picture`'s `Drop` releases.
            let result = unsafe { dav1d_get_picture(self.0, Some(NonNull::from(&mut picture.0))) };
            match result.0 {
                0 => return Ok(picture),
                EAGAIN => continue,
                code => return Err(Av1Error::Invalid(code)),
            }
        }
        Err(Av1Error::NoPicture)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from `dav1d_open` and is closed only here.
        unsafe { dav1d_close(Some(NonNull::from(&mut self.0))) };
    }
}

struct Picture(Dav1dPicture);

impl Picture {
    fn planes(&self, max_pixels: u64) -> Result<Planes, Av1Error> {
        let p = &self.0.p;
        let (width, height) = (
            u32::try_from(p.w).map_err(|_| Av1Error::NoPicture)?,
            u32::try_from(p.h).map_err(|_| Av1Error::NoPicture)?,
        );
        if width == 0 || height == 0 {
            return Err(Av1Error::NoPicture);
        }
        if u64::from(width) * u64::from(height) > max_pixels {
            return Err(Av1Error::TooLarge {
                width,
                height,
                limit: max_pixels,
            });
        }
        let (chroma_format, sx, sy) = match p.layout {
            DAV1D_PIXEL_LAYOUT_I400 => (0, 0, 0),
            DAV1D_PIXEL_LAYOUT_I420 => (1, 1, 1),
            DAV1D_PIXEL_LAYOUT_I422 => (2, 1, 0),
            DAV1D_PIXEL_LAYOUT_I444 => (3, 0, 0),
            _ => return Err(Av1Error::Layout),
        };
        let bit_depth = u8::try_from(p.bpc).map_err(|_| Av1Error::Layout)?;
        let wide = bit_depth > 8;
        let cw = (width + sx) >> sx;
        let ch = (height + sy) >> sy;
        let mut widths = [width, cw, cw];
        let mut heights = [height, ch, ch];
        if chroma_format == 0 {
            widths[1..].fill(0);
            heights[1..].fill(0);
        }
        let mut planes: [Vec<u16>; 3] = Default::default();
        for (i, plane) in planes.iter_mut().enumerate() {
            let (w, h) = (widths[i] as usize, heights[i] as usize);
            if w == 0 {
                continue;
            }
            let Some(base) = self.0.data[i] else {
                return Err(Av1Error::NoPicture);
            };
            let stride = self.0.stride[usize::from(i > 0)];
            let bytes_per_sample = if wide { 2 } else { 1 };
            if stride.unsigned_abs() < w * bytes_per_sample {
                return Err(Av1Error::Layout);
            }
            plane.reserve_exact(w * h);
            for row in 0..h {
                // SAFETY: dav1d guarantees `h` rows of `stride` bytes per plane, each holding
                // at least `w` samples of the picture's depth (checked against the stride
                // above); the picture is alive for this borrow.
                unsafe {
                    let start = base.as_ptr().cast::<u8>().offset(stride * row as isize);
                    if wide {
                        let samples = std::slice::from_raw_parts(start.cast::<u16>(), w);
                        plane.extend_from_slice(samples);
                    } else {
                        let samples = std::slice::from_raw_parts(start, w);
                        plane.extend(samples.iter().map(|&s| u16::from(s)));
                    }
                }
            }
        }
        let (matrix, full_range) = match self.0.seq_hdr {
            // SAFETY: the sequence header lives as long as the picture that references it.
            Some(header) => unsafe {
                let h = header.as_ref();
                (u16::try_from(h.mtrx).unwrap_or(2), h.color_range != 0)
            },
            None => (2, false),
        };
        Ok(Planes {
            width,
            height,
            bit_depth,
            chroma_format,
            widths,
            heights,
            planes,
            matrix,
            full_range,
        })
    }
}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: releases the references `dav1d_get_picture` gave this picture (a no-op on a
        // default, never-filled picture).
        unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        assert!(decode_still(&[], 1 << 20).is_err());
        assert!(decode_still(&[0x12, 0x00, 0x0a, 0xff, 0xff, 0xff], 1 << 20).is_err());
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(decode_still(&noise, 1 << 20).is_err());
    }
}
