//! Mozilla's Server Side TLS guidelines as data: the official JSON files,
//! stored verbatim under `data/tls/mozilla/` (provenance in the README
//! there) and read here into `Profile`s.
//!
//! Invariants: the lists come from the files, never from code; a profile
//! knows which guideline version (and its date) it came from, so a finding
//! can say "Mozilla intermediate 6.0". The files are read with
//! `serde_json::Value` rather than derived types, because only the contract
//! modules derive serde (`tidy::serde_only_in_contract_modules`) and this
//! is an input we ship, not a format we promise.

use serde_json::Value;

use super::names::ProtocolVersion;

/// A published version of the guidelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guideline {
    /// Its version, as the spec's `guideline:` names it ("6.0").
    pub version: &'static str,
    /// When it was published (ISO date, or year-month when the day is not
    /// on record; see `data/tls/mozilla/README.md`).
    pub date: &'static str,
    json: &'static str,
}

impl Guideline {
    /// Version 5.7 (2023-05-15): modern, intermediate and old.
    pub const V5_7: Self = Self {
        version: "5.7",
        date: "2023-05-15",
        json: include_str!("../../data/tls/mozilla/5.7.json"),
    };
    /// Version 6.0 (2025): modern and intermediate; "old" is withdrawn.
    pub const V6_0: Self = Self {
        version: "6.0",
        date: "2025",
        json: include_str!("../../data/tls/mozilla/6.0.json"),
    };
    /// Every version we ship, oldest first.
    pub const ALL: [Self; 2] = [Self::V5_7, Self::V6_0];
    /// The version a policy follows unless the spec names one.
    pub const CURRENT: Self = Self::V6_0;

    /// The shipped guideline with this version.
    pub fn from_version(version: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.version == version)
    }

    /// The names of the profiles ("configurations") it defines.
    pub fn profile_names(&self) -> Vec<String> {
        serde_json::from_str::<Value>(self.json)
            .ok()
            .and_then(|v| v.get("configurations")?.as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default()
    }

    /// One profile of this guideline.
    pub fn profile(&self, name: &str) -> Result<Profile, ProfileError> {
        let bad = |what: &str| ProfileError::BadData {
            guideline: self.version,
            what: format!("{name}: {what}"),
        };
        let root: Value = serde_json::from_str(self.json).map_err(|e| bad(&e.to_string()))?;
        let Some(c) = root.get("configurations").and_then(|c| c.get(name)) else {
            return Err(ProfileError::UnknownProfile {
                guideline: self.version,
                profile: name.to_owned(),
                known: self.profile_names(),
            });
        };
        let strings = |v: Option<&Value>, key: &str| -> Result<Vec<String>, ProfileError> {
            let items = v.and_then(Value::as_array).ok_or_else(|| bad(&format!("`{key}` list")))?;
            items
                .iter()
                .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| bad(&format!("`{key}` item"))))
                .collect()
        };
        let number = |key: &str| -> Result<Option<u32>, ProfileError> {
            match c.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| bad(&format!("`{key}` number"))),
            }
        };
        let flag = |key: &str| c.get(key).and_then(Value::as_bool).ok_or_else(|| bad(key));
        let tls_versions = strings(c.get("tls_versions"), "tls_versions")?
            .iter()
            .map(|v| ProtocolVersion::from_name(v).ok_or_else(|| bad(&format!("version {v}"))))
            .collect::<Result<_, _>>()?;
        let ciphers = c.get("ciphers");
        Ok(Profile {
            name: name.to_owned(),
            guideline_version: self.version,
            date: self.date,
            tls_versions,
            ciphersuites: strings(c.get("ciphersuites"), "ciphersuites")?,
            ciphers_iana: strings(ciphers.and_then(|x| x.get("iana")), "ciphers.iana")?,
            ciphers_openssl: strings(ciphers.and_then(|x| x.get("openssl")), "ciphers.openssl")?,
            certificate_types: strings(c.get("certificate_types"), "certificate_types")?,
            certificate_signatures: strings(
                c.get("certificate_signatures"),
                "certificate_signatures",
            )?,
            certificate_curves: strings(c.get("certificate_curves"), "certificate_curves")?,
            rsa_key_size: number("rsa_key_size")?,
            maximum_certificate_lifespan: number("maximum_certificate_lifespan")?,
            recommended_certificate_lifespan: number("recommended_certificate_lifespan")?,
            tls_curves: strings(c.get("tls_curves"), "tls_curves")?,
            dh_param_size: number("dh_param_size")?,
            ecdh_param_size: number("ecdh_param_size")?,
            ocsp_staple: flag("ocsp_staple")?,
            server_preferred_order: flag("server_preferred_order")?,
            oldest_clients: strings(c.get("oldest_clients"), "oldest_clients")?,
        })
    }
}

/// One configuration of a guideline ("intermediate" of 6.0), as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// "modern", "intermediate" or "old".
    pub name: String,
    /// The guideline version it comes from ("6.0").
    pub guideline_version: &'static str,
    /// The guideline's date.
    pub date: &'static str,
    /// Protocol versions the server may accept.
    pub tls_versions: Vec<ProtocolVersion>,
    /// TLS 1.3 suites (IANA names).
    pub ciphersuites: Vec<String>,
    /// TLS 1.2-and-older suites, IANA names (`ciphers.iana`).
    pub ciphers_iana: Vec<String>,
    /// The same suites, OpenSSL names (`ciphers.openssl`; not index-aligned
    /// with the IANA list in every version, so never zip the two).
    pub ciphers_openssl: Vec<String>,
    /// Certificate key types ("ecdsa", "rsa").
    pub certificate_types: Vec<String>,
    /// Certificate signature algorithms (OpenSSL names).
    pub certificate_signatures: Vec<String>,
    /// Curves for ECDSA certificate keys.
    pub certificate_curves: Vec<String>,
    /// Minimum RSA key size in bits, when the profile sets one.
    pub rsa_key_size: Option<u32>,
    /// Longest certificate lifetime, in days.
    pub maximum_certificate_lifespan: Option<u32>,
    /// Recommended certificate lifetime, in days.
    pub recommended_certificate_lifespan: Option<u32>,
    /// Key exchange groups.
    pub tls_curves: Vec<String>,
    /// Minimum finite-field DH size in bits.
    pub dh_param_size: Option<u32>,
    /// Minimum ECDH size in bits.
    pub ecdh_param_size: Option<u32>,
    /// Whether OCSP stapling is expected.
    pub ocsp_staple: bool,
    /// Whether the server should impose its suite order.
    pub server_preferred_order: bool,
    /// The oldest clients the profile still serves.
    pub oldest_clients: Vec<String>,
}

impl Profile {
    /// Whether the profile allows this suite (IANA name) at this version:
    /// TLS 1.3 suites from `ciphersuites`, older ones from `ciphers.iana`.
    pub fn allows_suite(&self, version: ProtocolVersion, iana: &str) -> bool {
        if version >= ProtocolVersion::TLS13 {
            self.ciphersuites.iter().any(|s| s == iana)
        } else {
            self.ciphers_iana.iter().any(|s| s == iana)
        }
    }
}

/// Why a profile could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Our shipped data does not read as a guideline (a local fault: the
    /// tests read every shipped profile).
    #[error("Mozilla guideline {guideline} data is malformed ({what})")]
    BadData {
        /// The guideline version.
        guideline: &'static str,
        /// What was wrong.
        what: String,
    },
    /// The guideline has no such profile ("old" is gone from 6.0).
    #[error("Mozilla guideline {guideline} has no profile `{profile}` (it has: {})", known.join(", "))]
    UnknownProfile {
        /// The guideline version.
        guideline: &'static str,
        /// The profile asked for.
        profile: String,
        /// The profiles it has.
        known: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_reads() {
        for g in Guideline::ALL {
            let names = g.profile_names();
            assert!(names.len() >= 2, "{}: {names:?}", g.version);
            for n in names {
                let p = g.profile(&n).unwrap_or_else(|e| panic!("{e}"));
                assert!(!p.tls_versions.is_empty());
                // Every suite the guideline names is one we can name both ways.
                for s in p.ciphersuites.iter().chain(&p.ciphers_iana) {
                    assert!(super::super::names::openssl_name(s).is_some(), "{s} unknown");
                }
                for s in &p.ciphers_openssl {
                    assert!(super::super::names::to_iana(s).is_some(), "{s} unknown");
                }
            }
        }
    }

    #[test]
    fn intermediate_6_0_is_as_published() {
        let p = Guideline::CURRENT.profile("intermediate").expect("intermediate");
        assert_eq!(p.guideline_version, "6.0");
        assert_eq!(p.tls_versions, [ProtocolVersion::TLS12, ProtocolVersion::TLS13]);
        assert_eq!(p.rsa_key_size, Some(2048));
        assert_eq!(p.maximum_certificate_lifespan, Some(366));
        assert!(p.allows_suite(ProtocolVersion::TLS12, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(!p.allows_suite(ProtocolVersion::TLS12, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(!p.allows_suite(ProtocolVersion::TLS13, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        // 5.7 still had DHE suites and the old profile; 6.0 dropped both.
        let old57 = Guideline::V5_7.profile("intermediate").expect("5.7");
        assert!(old57.allows_suite(ProtocolVersion::TLS12, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(Guideline::V5_7.profile("old").is_ok());
        assert!(matches!(
            Guideline::V6_0.profile("old"),
            Err(ProfileError::UnknownProfile { guideline: "6.0", .. })
        ));
    }
}
