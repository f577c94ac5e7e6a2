/// A state's stored name (every [`crate::string_enum!`] has one).
pub trait Named {
    fn name(self) -> &'static str;
}

/// A closed set of states whose allowed transitions are data (one table per machine).
/// The table is the one source of truth: the database refuses every other change of a
/// stored state (`lading_core::sql::transitions` makes the triggers from it).
pub trait StateMachine: Copy + Eq + std::fmt::Debug + Named + 'static {
    /// Every state, initial state first.
    const ALL: &'static [Self];
    /// Every allowed `(from, to)` pair.
    const TRANSITIONS: &'static [(Self, Self)];

    fn can_go(self, to: Self) -> bool {
        Self::TRANSITIONS.iter().any(|&(f, t)| f == self && t == to)
    }

    /// Every allowed change as stored names.
    fn edges() -> Vec<(&'static str, &'static str)> {
        Self::TRANSITIONS
            .iter()
            .map(|&(f, t)| (f.name(), t.name()))
            .collect()
    }

    /// States reachable from the initial state; tests assert this is all of them.
    fn reachable() -> Vec<Self> {
        let mut seen = vec![Self::ALL[0]];
        let mut i = 0;
        while i < seen.len() {
            for &(f, t) in Self::TRANSITIONS {
                if f == seen[i] && !seen.contains(&t) {
                    seen.push(t);
                }
            }
            i += 1;
        }
        seen
    }
}

/// Declares a closed string enum: `as_str`, `parse`, serde as the snake_case string.
#[macro_export]
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const VALUES: &'static [&'static str] = &[$($s),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
        impl $crate::domain::Named for $name {
            fn name(self) -> &'static str { self.as_str() }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(format!(
                    "must be one of: {}", $name::VALUES.join(", "))))
            }
        }
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "enum": [$($s),+] })
            }
        }
    };
}
