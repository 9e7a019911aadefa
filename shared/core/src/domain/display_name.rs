//! What a creator's file was called, kept as the asset's display name: sanitised wherever it
//! enters (the API's form, an original's metadata, the inbox's name file), never part of a key.

/// The user metadata an original's display name travels in (S3: `x-amz-meta-filename`),
/// percent-encoded ([`encode_name`]) because S3 keeps metadata values as US-ASCII.
pub const NAME_METADATA: &str = "filename";

/// The most bytes of UTF-8 a display name keeps, as most file systems allow a file name.
pub const MAX_NAME_BYTES: usize = 255;

/// A creator's file name made safe to keep and show: the last path segment only (some
/// browsers send a whole path), no control or bidirectional-override characters (which can
/// make `gpj.exe` read as `exe.jpg`), whitespace runs as one space, at most
/// [`MAX_NAME_BYTES`] bytes cut at a character. `None` when nothing is left.
pub fn display_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name = String::with_capacity(last.len().min(MAX_NAME_BYTES));
    let mut pending_space = false;
    for c in last.chars() {
        if c.is_whitespace() {
            pending_space = !name.is_empty();
            continue;
        }
        if c.is_control() || is_bidi_control(c) {
            continue;
        }
        let needed = c.len_utf8() + usize::from(pending_space);
        if name.len() + needed > MAX_NAME_BYTES {
            break;
        }
        if pending_space {
            name.push(' ');
            pending_space = false;
        }
        name.push(c);
    }
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// Characters that reorder the text around them when shown.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A display name as a metadata value: UTF-8, percent-encoded to US-ASCII.
pub fn encode_name(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, NAME_ENCODED).to_string()
}

/// The display name a metadata value carries, sanitised again: anyone who may write to the
/// uploads may set it.
pub fn decode_name(value: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    display_name(&decoded)
}

/// Everything but unreserved URL characters is encoded.
const NAME_ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_one_plain_segment_of_bounded_length() {
        assert_eq!(
            display_name("IMG_1234.HEIC").as_deref(),
            Some("IMG_1234.HEIC")
        );
        assert_eq!(
            display_name("C:\\Users\\ana\\Pictures\\beach day.jpg").as_deref(),
            Some("beach day.jpg")
        );
        assert_eq!(display_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(
            display_name("  summer\t\n  2024 .jpg  ").as_deref(),
            Some("summer 2024 .jpg")
        );
        assert_eq!(
            display_name("photo\u{202E}gpj.exe").as_deref(),
            Some("photogpj.exe")
        );
        assert_eq!(display_name("a\u{0}b\u{7f}c").as_deref(), Some("abc"));
        assert_eq!(display_name("dir/"), None);
        assert_eq!(display_name(" \u{202E} "), None);
        assert_eq!(display_name(".."), None);
        let long = "é".repeat(300);
        let kept = display_name(&long).unwrap();
        assert!(kept.len() <= MAX_NAME_BYTES && kept.chars().all(|c| c == 'é'));
        assert_eq!(kept.chars().count(), MAX_NAME_BYTES / 2);
    }

    #[test]
    fn names_travel_as_ascii_metadata_and_come_back_sanitised() {
        let name = "Été à Paris – 1/2 “best”.jpg";
        let kept = display_name(name).unwrap();
        let encoded = encode_name(&kept);
        assert!(encoded.is_ascii(), "{encoded}");
        assert_eq!(decode_name(&encoded).as_deref(), Some(kept.as_str()));
        assert_eq!(
            decode_name("%E2%80%AEevil%0A.jpg").as_deref(),
            Some("evil .jpg")
        );
        assert_eq!(decode_name("%FF%FE"), None, "not UTF-8");
    }
}
