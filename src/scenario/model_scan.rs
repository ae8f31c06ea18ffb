//! `authenticity:`: which models the model scan asks about, `all` or a list.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Which models the scan sends its requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelScan {
    /// Every model the target lists.
    All,
    /// These.
    Models(Vec<String>),
}

/// The most models one scan may name: each costs [`crate::features::SCAN_REQUESTS`] requests.
pub const MAX_SCAN_MODELS: usize = 32;

pub(super) fn model_scan<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ModelScan>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<ModelScan>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`all` or a list of model ids")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v {
                "all" => Ok(Some(ModelScan::All)),
                _ => Err(E::custom(format!("write `all` or a list of model ids, not {v:?}"))),
            }
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut models = Vec::new();
            while let Some(m) = seq.next_element::<String>()? {
                if m.is_empty() || models.contains(&m) {
                    return Err(de::Error::custom(format!("model {m:?} is empty or named twice")));
                }
                models.push(m);
            }
            match models.len() {
                0 => Err(de::Error::custom("the list names no model; leave the field out to scan none")),
                n if n > MAX_SCAN_MODELS => Err(de::Error::custom(format!("{n} models, at most {MAX_SCAN_MODELS}"))),
                _ => Ok(Some(ModelScan::Models(models))),
            }
        }
    }
    d.deserialize_any(V)
}
