//! The `PICTOR_*` variables a function reads, into its own serde struct.

/// `PICTOR_OUTPUT_BUCKET` and `PICTOR_TABLE`: where renditions and records are kept. Each
/// function that works with assets flattens these into its own variables.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoreVars {
    pub output_bucket: String,
    pub table: String,
}

/// The prefix every variable Pictor reads starts with.
const PREFIX: &str = "PICTOR_";

/// Why a function's configuration was refused. Its text names the variable, so the one log
/// line a failed start writes says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("{0} must be set")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
}

/// Reads the `PICTOR_*` variables of this process into `T`, a serde struct whose field
/// `table` is `PICTOR_TABLE`. An empty value counts as unset.
pub fn from_env<T: serde::de::DeserializeOwned>() -> Result<T, EnvError> {
    from_vars(std::env::vars())
}

/// [`from_env`] over the given variables (tests pass their own).
pub fn from_vars<T, I, K, V>(vars: I) -> Result<T, EnvError>
where
    T: serde::de::DeserializeOwned,
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let vars = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .filter(|(k, v)| k.starts_with(PREFIX) && !v.trim().is_empty());
    envy::prefixed(PREFIX).from_iter(vars).map_err(|e| match e {
        envy::Error::MissingValue(field) => {
            EnvError::Missing(format!("{PREFIX}{}", field.to_ascii_uppercase()))
        }
        envy::Error::Custom(message) => EnvError::Invalid(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Vars {
        table: String,
        upload_prefix: Option<String>,
    }

    #[derive(serde::Deserialize, Debug)]
    struct Flattened {
        #[serde(flatten)]
        stores: StoreVars,
        event_bus: Option<String>,
    }

    /// Shared groups of variables read as if each function had listed them itself.
    #[test]
    fn shared_groups_flatten_into_a_functions_variables() {
        let vars: Flattened = from_vars([
            ("PICTOR_OUTPUT_BUCKET", "out"),
            ("PICTOR_TABLE", "t"),
            ("PICTOR_EVENT_BUS", "bus"),
        ])
        .unwrap();
        assert_eq!(vars.stores.output_bucket, "out");
        assert_eq!(vars.stores.table, "t");
        assert_eq!(vars.event_bus.as_deref(), Some("bus"));
        let missing = from_vars::<Flattened, _, _, _>([("PICTOR_TABLE", "t")]).unwrap_err();
        assert_eq!(missing.to_string(), "PICTOR_OUTPUT_BUCKET must be set");
    }

    #[test]
    fn variables_are_read_by_name_and_a_missing_one_is_named() {
        let vars: Vars = from_vars([
            ("PICTOR_TABLE", "t"),
            ("PICTOR_UPLOAD_PREFIX", " "),
            ("TABLE", "x"),
        ])
        .unwrap();
        assert_eq!(vars.table, "t");
        assert_eq!(vars.upload_prefix, None, "empty counts as unset");
        let missing = from_vars::<Vars, _, _, _>([("PICTOR_TABLE", "")]).unwrap_err();
        assert_eq!(missing.to_string(), "PICTOR_TABLE must be set");
    }
}
