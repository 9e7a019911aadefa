//! What Pictor is about, free of any store: an asset and its record, where an original is,
//! who asks, the presets, the output bucket's layout, and the events of an asset.

pub mod asset;
pub mod asset_json;
pub mod display_name;
pub mod events;
pub mod identity;
pub mod layout;
pub mod presets;
pub mod source;
