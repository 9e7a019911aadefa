//! An ICC profile in a WebP file libwebp wrote: the extended format's `VP8X` header with its
//! ICC flag, then an `ICCP` chunk before the image data, as the container spec orders them.

use crate::error::ProcessError;

/// `VP8X` flags: the file has an ICC profile, an alpha channel.
const ICC_FLAG: u8 = 0x20;
const ALPHA_FLAG: u8 = 0x10;

/// A chunk: its four-character code and payload.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of a RIFF/WEBP file.
fn chunks(webp: &[u8]) -> Result<Vec<Chunk<'_>>, ProcessError> {
    let bad = || ProcessError::internal("libwebp wrote an unexpected container");
    if webp.len() < 12 || &webp[..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return Err(bad());
    }
    let mut chunks = Vec::new();
    let mut at = 12;
    while at + 8 <= webp.len() {
        let code: [u8; 4] = webp[at..at + 4].try_into().map_err(|_| bad())?;
        let size = u32::from_le_bytes(webp[at + 4..at + 8].try_into().map_err(|_| bad())?) as usize;
        let payload = webp.get(at + 8..at + 8 + size).ok_or_else(bad)?;
        chunks.push((code, payload));
        at += 8 + size + (size & 1);
    }
    Ok(chunks)
}

fn push_chunk(out: &mut Vec<u8>, code: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(code);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}

/// `webp` (a still image of `width`×`height`) with `icc` embedded.
pub fn with_profile(
    webp: &[u8],
    width: u32,
    height: u32,
    icc: &[u8],
) -> Result<Vec<u8>, ProcessError> {
    let chunks = chunks(webp)?;
    let has_alpha = chunks.iter().any(|(code, _)| code == b"ALPH");
    let mut header = match chunks.iter().find(|(code, _)| code == b"VP8X") {
        Some((_, payload)) if payload.len() == 10 => payload.to_vec(),
        Some(_) => return Err(ProcessError::internal("libwebp wrote a short VP8X header")),
        None => {
            let mut header = vec![0u8; 10];
            header[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
            header[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
            header
        }
    };
    header[0] |= ICC_FLAG;
    if has_alpha {
        header[0] |= ALPHA_FLAG;
    }
    let mut body = b"WEBP".to_vec();
    push_chunk(&mut body, b"VP8X", &header);
    push_chunk(&mut body, b"ICCP", icc);
    for (code, payload) in chunks.iter().filter(|(code, _)| code != b"VP8X") {
        push_chunk(&mut body, code, payload);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_webp() {
        assert!(with_profile(b"not a webp file", 1, 1, b"icc").is_err());
        let truncated = b"RIFF\x20\x00\x00\x00WEBPVP8 \xff\x00\x00\x00";
        assert!(with_profile(truncated, 1, 1, b"icc").is_err());
    }
}
