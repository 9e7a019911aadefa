//! The rendition spec (`pictor.toml`): which variants to make, how to watermark them and which
//! inputs to refuse. Parsed strictly (unknown keys are errors) and validated before any work.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a spec was rejected.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spec is not valid TOML for Pictor: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid spec: {0}")]
    Invalid(String),
    #[error("cannot load watermark logo {path}: {reason}")]
    Logo { path: PathBuf, reason: String },
}

fn invalid(msg: impl Into<String>) -> SpecError {
    SpecError::Invalid(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Scale to fit within width x height, keeping the aspect ratio.
    Inside,
    /// Fill width x height exactly, cropping around the image's focal point (see
    /// [`FocusMode`]).
    Cover,
}

/// Where a `cover` crop is placed when the asset has no focal point set by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FocusMode {
    /// Around the most salient part of the image (edges, skin tones, saturated colour),
    /// measured once per image.
    Auto,
    /// The centre of the image, as before focal points existed.
    #[serde(alias = "center")]
    Centre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Webp,
    Png,
    Avif,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Webp => "webp",
            OutputFormat::Png => "png",
            OutputFormat::Avif => "avif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Png => "image/png",
            OutputFormat::Avif => "image/avif",
        }
    }

    /// Whether files in this format can carry transparency.
    pub fn has_alpha(self) -> bool {
        !matches!(self, OutputFormat::Jpeg)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Webp => "webp",
            OutputFormat::Png => "png",
            OutputFormat::Avif => "avif",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One output rendition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    pub width: u32,
    /// Box height; without it the height follows the aspect ratio (`inside` only).
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default = "default_fit")]
    pub fit: Fit,
    pub format: OutputFormat,
    /// A fixed encoder quality (1-100), or a perceptual target (`{ ssimulacra2 = 80 }`) that
    /// each rendition meets at the lowest quality that reaches it. Ignored for PNG.
    #[serde(default = "default_quality")]
    pub quality: Quality,
    /// JPEG only: progressive scans (a coarse whole picture first, then detail). Left out of
    /// the spec's hash when off, so specs written before it existed keep their hash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub progressive: bool,
    /// AVIF only: encoder speed, 1 (smallest files, slowest) to 10 (fastest);
    /// [`DEFAULT_AVIF_SPEED`] when unset. Left out of the spec's hash when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<u8>,
    /// `cover` only: how the crop is placed when no focal point was set by hand;
    /// [`FocusMode::Auto`] when unset. A focal point set by hand applies to every `cover`
    /// variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<FocusMode>,
}

/// rav1e's speed 6: an AVIF job of the default sizes from a 12 MP photo takes seconds, not
/// minutes, on one core, for files about a fifth smaller than WebP at the same quality.
pub const DEFAULT_AVIF_SPEED: u8 = 6;

impl Variant {
    /// The AVIF encoder speed this variant asks for.
    pub fn avif_speed(&self) -> u8 {
        self.speed.unwrap_or(DEFAULT_AVIF_SPEED)
    }

    /// Whether this variant's crop follows the image's measured focal point.
    pub fn crops_to_attention(&self) -> bool {
        self.fit == Fit::Cover && self.focus.unwrap_or(FocusMode::Auto) == FocusMode::Auto
    }
}

fn default_fit() -> Fit {
    Fit::Inside
}

fn default_quality() -> Quality {
    Quality::Fixed(82)
}

/// How hard a lossy variant is compressed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quality {
    /// The encoder's quality setting, 1-100, the same for every picture: `quality = 80`.
    Fixed(u8),
    /// The lowest encoder quality at which the rendition scores at least this SSIMULACRA2
    /// against the resized, watermarked picture (100 = identical; about 90 is visually
    /// lossless at 1:1, 70 is a medium-quality web image): `quality = { ssimulacra2 = 80 }`.
    /// Each picture gets the quality it needs, found by a bounded search.
    Ssimulacra2(f32),
}

/// The range of SSIMULACRA2 targets a spec may ask for: below 30 a picture is visibly
/// damaged, above 95 no lossy encoder setting reliably gets there.
pub const SSIMULACRA2_TARGETS: std::ops::RangeInclusive<f32> = 30.0..=95.0;

impl Quality {
    /// The fixed quality, when it is one.
    pub fn fixed(self) -> Option<u8> {
        match self {
            Quality::Fixed(q) => Some(q),
            Quality::Ssimulacra2(_) => None,
        }
    }

    /// The SSIMULACRA2 target, when it is one.
    pub fn target(self) -> Option<f32> {
        match self {
            Quality::Fixed(_) => None,
            Quality::Ssimulacra2(t) => Some(t),
        }
    }
}

impl From<u8> for Quality {
    fn from(q: u8) -> Quality {
        Quality::Fixed(q)
    }
}

/// A fixed quality is written as the bare number, as before targets existed, so the specs
/// that use one keep their hash.
impl Serialize for Quality {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match *self {
            Quality::Fixed(q) => s.serialize_u8(q),
            Quality::Ssimulacra2(t) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("ssimulacra2", &t)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Quality;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quality from 1 to 100, or a target such as { ssimulacra2 = 80 }")
            }
            fn visit_i64<E: serde::de::Error>(self, q: i64) -> Result<Quality, E> {
                u8::try_from(q)
                    .map(Quality::Fixed)
                    .map_err(|_| E::custom(format!("quality must be 1-100, got {q}")))
            }
            fn visit_u64<E: serde::de::Error>(self, q: u64) -> Result<Quality, E> {
                u8::try_from(q)
                    .map(Quality::Fixed)
                    .map_err(|_| E::custom(format!("quality must be 1-100, got {q}")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Quality, A::Error> {
                let mut target = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "ssimulacra2" if target.is_none() => {
                            target = Some(map.next_value::<f32>()?)
                        }
                        "ssimulacra2" => {
                            return Err(serde::de::Error::duplicate_field("ssimulacra2"))
                        }
                        other => {
                            return Err(serde::de::Error::unknown_field(other, &["ssimulacra2"]))
                        }
                    }
                }
                target
                    .map(Quality::Ssimulacra2)
                    .ok_or_else(|| serde::de::Error::missing_field("ssimulacra2"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Where on the image a watermark sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    TopLeft,
    Top,
    TopRight,
    Left,
    Center,
    Right,
    BottomLeft,
    Bottom,
    BottomRight,
}

impl Anchor {
    /// Horizontal and vertical position as fractions (0 = left/top, 1 = right/bottom).
    pub fn fractions(self) -> (f32, f32) {
        match self {
            Anchor::TopLeft => (0.0, 0.0),
            Anchor::Top => (0.5, 0.0),
            Anchor::TopRight => (1.0, 0.0),
            Anchor::Left => (0.0, 0.5),
            Anchor::Center => (0.5, 0.5),
            Anchor::Right => (1.0, 0.5),
            Anchor::BottomLeft => (0.0, 1.0),
            Anchor::Bottom => (0.5, 1.0),
            Anchor::BottomRight => (1.0, 1.0),
        }
    }
}

/// An sRGB colour written as `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub [u8; 3]);

impl Color {
    pub const WHITE: Color = Color([255, 255, 255]);

    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }
}

impl std::str::FromStr for Color {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| format!("colour {s:?} is not of the form #rrggbb"))?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string());
        Ok(Color([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl Serialize for Color {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A PNG logo blended onto each large-enough variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogoMark {
    pub enabled: bool,
    /// PNG file, relative to the spec file; the bundled Pictor mark when absent.
    pub path: Option<PathBuf>,
    pub anchor: Anchor,
    /// Distance from the edges, as a fraction of the variant's width.
    pub margin: f32,
    /// Logo width as a fraction of the variant's width.
    pub scale: f32,
    pub opacity: f32,
}

impl Default for LogoMark {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            anchor: Anchor::BottomRight,
            margin: 0.02,
            scale: 0.2,
            opacity: 0.5,
        }
    }
}

/// A line of text drawn with the bundled font; `{creator}` is replaced by the asset's creator
/// and the text is left out when the template needs a creator the asset does not have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextMark {
    pub enabled: bool,
    pub template: String,
    pub anchor: Anchor,
    /// Distance from the edges, as a fraction of the variant's width.
    pub margin: f32,
    /// Glyph height as a fraction of the variant's width.
    pub size: f32,
    pub color: Color,
    pub opacity: f32,
}

impl Default for TextMark {
    fn default() -> Self {
        Self {
            enabled: true,
            template: "© {creator}".to_string(),
            anchor: Anchor::BottomLeft,
            margin: 0.02,
            size: 0.03,
            color: Color::WHITE,
            opacity: 0.85,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Watermark {
    /// Variants narrower than this get no watermark (it would be illegible).
    pub min_width: u32,
    pub logo: LogoMark,
    pub text: TextMark,
}

impl Default for Watermark {
    fn default() -> Self {
        Self {
            min_width: 320,
            logo: LogoMark::default(),
            text: TextMark::default(),
        }
    }
}

/// Inputs over any of these are refused from their header, before pixels are allocated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_pixels: u64,
    pub max_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 50_000_000,
            max_pixels: 50_000_000,
            max_side: 16_384,
        }
    }
}

/// What colour space renditions are in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// Every rendition in sRGB, with no profile: what every screen shows the same way.
    #[default]
    Srgb,
    /// A wide-gamut source (Display P3, Adobe RGB) keeps its pixels and its ICC profile in the
    /// renditions; sources without a profile, or with an sRGB one, are sRGB as before.
    Keep,
}

impl ColorMode {
    fn is_srgb(&self) -> bool {
        *self == ColorMode::Srgb
    }
}

/// The whole rendition spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Spec {
    pub variants: Vec<Variant>,
    /// What transparent pixels become in formats without alpha (JPEG).
    pub background: Color,
    pub color: ColorMode,
    pub watermark: Watermark,
    pub limits: Limits,
    /// Directory that relative paths in the spec are resolved against.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

impl Default for Spec {
    fn default() -> Self {
        let variant = |name: &str, width, height, fit, format, quality| Variant {
            name: name.to_string(),
            width,
            height,
            fit,
            format,
            quality,
            progressive: false,
            speed: None,
            focus: None,
        };
        let mut variants = Vec::new();
        for (format, quality) in [(OutputFormat::Jpeg, 82), (OutputFormat::Webp, 80)] {
            let quality = Quality::Fixed(quality);
            variants.push(variant("xl", 2048, None, Fit::Inside, format, quality));
            variants.push(variant("lg", 1024, None, Fit::Inside, format, quality));
            variants.push(variant("md", 512, None, Fit::Inside, format, quality));
            variants.push(variant(
                "thumb",
                256,
                Some(256),
                Fit::Cover,
                format,
                quality,
            ));
        }
        Self {
            variants,
            background: Color::WHITE,
            color: ColorMode::Srgb,
            watermark: Watermark::default(),
            limits: Limits::default(),
            base_dir: None,
        }
    }
}

impl Spec {
    /// Parses and validates a spec from TOML text; missing sections take the defaults.
    pub fn from_toml(text: &str) -> Result<Spec, SpecError> {
        let spec: Spec = toml::from_str(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads a spec file; relative paths inside it resolve against its directory.
    pub fn from_file(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut spec = Spec::from_toml(&text)?;
        spec.base_dir = path.parent().map(Path::to_path_buf);
        Ok(spec)
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        if self.variants.is_empty() {
            return Err(invalid("at least one variant is required"));
        }
        let mut seen = HashSet::new();
        for v in &self.variants {
            let valid_name = !v.name.is_empty()
                && v.name.len() <= 64
                && v.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_name {
                return Err(invalid(format!(
                    "variant name {:?} must be 1-64 characters of a-z, 0-9, '-' or '_'",
                    v.name
                )));
            }
            if !seen.insert((v.name.as_str(), v.format)) {
                return Err(invalid(format!(
                    "variant {:?} is listed twice as {}",
                    v.name, v.format
                )));
            }
            let side_ok = |s: u32| (1..=self.limits.max_side.max(1)).contains(&s);
            if !side_ok(v.width) || !v.height.is_none_or(side_ok) {
                return Err(invalid(format!(
                    "variant {:?}: width and height must be between 1 and {}",
                    v.name, self.limits.max_side
                )));
            }
            if v.fit == Fit::Cover && v.height.is_none() {
                return Err(invalid(format!(
                    "variant {:?}: fit = \"cover\" needs a height",
                    v.name
                )));
            }
            if v.focus.is_some() && v.fit != Fit::Cover {
                return Err(invalid(format!(
                    "variant {:?}: focus is for fit = \"cover\"",
                    v.name
                )));
            }
            if v.progressive && v.format != OutputFormat::Jpeg {
                return Err(invalid(format!(
                    "variant {:?}: progressive is for JPEG, not {}",
                    v.name, v.format
                )));
            }
            if let Some(speed) = v.speed {
                if v.format != OutputFormat::Avif {
                    return Err(invalid(format!(
                        "variant {:?}: speed is for AVIF, not {}",
                        v.name, v.format
                    )));
                }
                if !(1..=10).contains(&speed) {
                    return Err(invalid(format!(
                        "variant {:?}: speed must be 1-10, got {speed}",
                        v.name
                    )));
                }
            }
            match v.quality {
                Quality::Fixed(q) if !(1..=100).contains(&q) => {
                    return Err(invalid(format!(
                        "variant {:?}: quality must be 1-100, got {q}",
                        v.name
                    )));
                }
                Quality::Ssimulacra2(t) if !SSIMULACRA2_TARGETS.contains(&t) => {
                    return Err(invalid(format!(
                        "variant {:?}: a SSIMULACRA2 target must be {}-{}, got {t}",
                        v.name,
                        SSIMULACRA2_TARGETS.start(),
                        SSIMULACRA2_TARGETS.end()
                    )));
                }
                Quality::Ssimulacra2(_) if v.format == OutputFormat::Png => {
                    return Err(invalid(format!(
                        "variant {:?}: PNG is lossless; a SSIMULACRA2 target is for JPEG, WebP \
                         and AVIF",
                        v.name
                    )));
                }
                _ => {}
            }
        }
        let unit = |what: &str, x: f32, allow_zero: bool| {
            let ok = x.is_finite() && x <= 1.0 && (x > 0.0 || (allow_zero && x == 0.0));
            if ok {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{what} must be a fraction in (0, 1], got {x}"
                )))
            }
        };
        let logo = &self.watermark.logo;
        unit("watermark.logo.scale", logo.scale, false)?;
        unit("watermark.logo.opacity", logo.opacity, true)?;
        unit("watermark.logo.margin", logo.margin, true)?;
        let text = &self.watermark.text;
        unit("watermark.text.size", text.size, false)?;
        unit("watermark.text.opacity", text.opacity, true)?;
        unit("watermark.text.margin", text.margin, true)?;
        if text.enabled && text.template.trim().is_empty() {
            return Err(invalid("watermark.text.template is empty"));
        }
        let limits = &self.limits;
        if limits.max_file_bytes == 0 || limits.max_pixels == 0 || limits.max_side == 0 {
            return Err(invalid("limits must be greater than zero"));
        }
        Ok(())
    }

    /// The logo file the spec names, resolved against the spec's directory.
    pub fn logo_path(&self) -> Option<PathBuf> {
        let path = self.watermark.logo.path.as_ref()?;
        Some(match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.clone(),
        })
    }
}

/// Names the saliency measure behind automatic focal points, for the spec hash.
const ATTENTION_MEASURE: &str = "edges+skin+saturation/1";

/// A short, stable fingerprint of everything that shapes the renditions (not the limits).
/// `extra` carries content the spec only points to, such as the logo's bytes.
pub fn spec_hash(spec: &Spec, extra: &[u8]) -> String {
    #[derive(Serialize)]
    struct Shape<'a> {
        variants: &'a [Variant],
        background: Color,
        // Left out when sRGB, so specs written before the choice existed keep their hash.
        #[serde(skip_serializing_if = "ColorMode::is_srgb")]
        color: ColorMode,
        watermark: &'a Watermark,
        // Which saliency measure places `cover` crops: a new measure re-cuts them.
        #[serde(skip_serializing_if = "Option::is_none")]
        attention: Option<&'static str>,
    }
    let shape = Shape {
        variants: &spec.variants,
        background: spec.background,
        color: spec.color,
        watermark: &spec.watermark,
        attention: spec
            .variants
            .iter()
            .any(Variant::crops_to_attention)
            .then_some(ATTENTION_MEASURE),
    };
    let mut hasher = Sha256::new();
    // Serialising these plain structs cannot fail; the Debug text is a stable enough fallback.
    let json = serde_json::to_vec(&shape).unwrap_or_else(|_| format!("{spec:?}").into_bytes());
    hasher.update(json);
    hasher.update(extra);
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_has_eight_variants_and_is_valid() {
        let spec = Spec::default();
        spec.validate().unwrap();
        assert_eq!(spec.variants.len(), 8);
        let thumb = spec.variants.iter().find(|v| v.name == "thumb").unwrap();
        assert_eq!(
            (thumb.width, thumb.height, thumb.fit),
            (256, Some(256), Fit::Cover)
        );
    }

    #[test]
    fn empty_toml_is_the_default_spec() {
        assert_eq!(Spec::from_toml("").unwrap(), Spec::default());
    }

    #[test]
    fn parses_a_full_spec() {
        let spec = Spec::from_toml(
            r##"
            background = "#102030"
            [[variants]]
            name = "hero"
            width = 1600
            height = 900
            fit = "cover"
            format = "webp"
            quality = 75
            [watermark]
            min_width = 500
            [watermark.logo]
            anchor = "top-left"
            scale = 0.1
            [watermark.text]
            enabled = false
            [limits]
            max_pixels = 1000
            "##,
        )
        .unwrap();
        assert_eq!(spec.variants.len(), 1);
        assert_eq!(spec.variants[0].format, OutputFormat::Webp);
        assert_eq!(spec.background, Color([0x10, 0x20, 0x30]));
        assert_eq!(spec.watermark.logo.anchor, Anchor::TopLeft);
        assert!(!spec.watermark.text.enabled);
        assert_eq!(spec.limits.max_pixels, 1000);
        assert_eq!(spec.limits.max_side, 16_384);
    }

    #[test]
    fn rejects_bad_specs_with_clear_messages() {
        let cases = [
            ("variants = []", "at least one variant"),
            ("colour = 1", "unknown field `colour`"),
            ("background = \"white\"", "#rrggbb"),
            (
                "[[variants]]\nname='a'\nwidth=10\nformat='gif'",
                "unknown variant `gif`",
            ),
            (
                "[[variants]]\nname='a'\nwidth=10\nformat='png'\nfit='cover'",
                "needs a height",
            ),
            (
                "[[variants]]\nname='a b'\nwidth=10\nformat='png'",
                "variant name",
            ),
            (
                "[[variants]]\nname='a'\nwidth=0\nformat='png'",
                "between 1 and",
            ),
            (
                "[[variants]]\nname='a'\nwidth=10\nformat='png'\nquality=0",
                "quality must be 1-100",
            ),
            (
                "[[variants]]\nname='a'\nwidth=10\nformat='png'\n[[variants]]\nname='a'\nwidth=20\nformat='png'",
                "listed twice",
            ),
            ("[watermark.logo]\nscale = 2.0", "watermark.logo.scale"),
        ];
        for (toml, expected) in cases {
            let err = Spec::from_toml(toml).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{toml:?} gave {err:?}, wanted {expected:?}"
            );
        }
    }

    #[test]
    fn hash_is_stable_and_tracks_shape_not_limits() {
        let a = Spec::default();
        let mut b = Spec::default();
        b.limits.max_pixels = 10;
        assert_eq!(spec_hash(&a, b"logo"), spec_hash(&b, b"logo"));
        b.variants[0].quality = Quality::Fixed(90);
        assert_ne!(spec_hash(&a, b"logo"), spec_hash(&b, b"logo"));
        assert_ne!(spec_hash(&a, b"logo"), spec_hash(&a, b"other logo"));
        assert_eq!(spec_hash(&a, b"").len(), 16);
    }
}
