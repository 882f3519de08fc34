//! Tenants and the scopes an API key can carry.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The tenant every stored row belongs to. It comes from the API key, never from a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl TenantId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Checks a tenant name: 1–64 characters of letters, digits, `-`, `_` and `.`, so it
/// reads well in URLs, logs and shell commands.
pub fn check_tenant_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err("a tenant name is 1–64 characters".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(bad) => Err(format!(
            "a tenant name may hold letters, digits, -, _ and . only; found {bad:?}"
        )),
        None => Ok(()),
    }
}

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "ingest" => Ok(Self::Ingest),
            "read" => Ok(Self::Read),
            "admin" => Ok(Self::Admin),
            other => Err(format!(
                "unknown scope {other:?}: expected ingest, read or admin"
            )),
        }
    }
}

/// A set of scopes, kept small and ordered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn all() -> Self {
        Self(vec![Scope::Ingest, Scope::Read, Scope::Admin])
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_owned()).collect()
    }

    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut scopes = Vec::new();
        for name in names {
            let scope: Scope = name.as_ref().parse()?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(Self(scopes))
    }
}

impl FromStr for Scopes {
    type Err = String;
    /// A comma-separated list such as `ingest,read`.
    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = s.split(',').filter(|n| !n.trim().is_empty()).collect();
        Self::from_names(&names)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_1_to_64_url_safe_characters() {
        assert!(check_tenant_name("acme-prod_2.eu").is_ok());
        assert!(check_tenant_name(&"a".repeat(64)).is_ok());
        assert_eq!(
            check_tenant_name(""),
            Err("a tenant name is 1–64 characters".into())
        );
        assert_eq!(
            check_tenant_name(&"a".repeat(65)),
            Err("a tenant name is 1–64 characters".into())
        );
        assert_eq!(
            check_tenant_name("acme prod"),
            Err("a tenant name may hold letters, digits, -, _ and . only; found ' '".into())
        );
        assert!(check_tenant_name("acme/../x").is_err() && check_tenant_name("é").is_err());
    }

    #[test]
    fn a_tenant_id_displays_as_its_uuid() {
        let id = TenantId::new();
        assert_eq!(id.to_string(), id.0.to_string());
        assert_ne!(TenantId::new(), id);
    }

    #[test]
    fn scopes_read_and_write_as_comma_separated_names() {
        let scopes: Scopes = " read , ingest,read,".parse().unwrap();
        assert_eq!(scopes.names(), ["read", "ingest"], "in order, once each");
        assert_eq!(scopes.to_string(), "read,ingest");
        assert!(scopes.contains(Scope::Read) && scopes.contains(Scope::Ingest));
        assert!(!scopes.contains(Scope::Admin));
        assert_eq!(
            scopes.iter().collect::<Vec<_>>(),
            [Scope::Read, Scope::Ingest]
        );
        assert_eq!(Scopes::all().to_string(), "ingest,read,admin");
        assert!(Scope::Admin.as_str() == "admin" && Scope::Ingest.as_str() == "ingest");
        for scope in Scopes::all().iter() {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(
            "".parse::<Scopes>(),
            Err("at least one scope is required".into())
        );
        assert_eq!(
            Scopes::from_names::<&str>(&[]),
            Err("at least one scope is required".into())
        );
        assert_eq!(
            "read,root".parse::<Scopes>(),
            Err("unknown scope \"root\": expected ingest, read or admin".into())
        );
    }
}
