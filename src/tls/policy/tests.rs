//! Policy evaluation: profile, overrides, and the rule each violation maps to.

use rcgen::{CertificateParams, KeyPair, date_time_ymd};

use super::*;
use crate::tls::profile::Guideline;

const ECDHE_RSA_AES128_GCM: u16 = 0xc02f;
const DHE_RSA_AES128_GCM: u16 = 0x009e;
const RSA_3DES: u16 = 0x000a;
const AES128_GCM_SHA256: u16 = 0x1301;

fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().expect("timestamp")
}

/// A self-signed leaf for www.example.test, pinned as the policy's anchor,
/// so the certificate side is clean unless a test spoils it.
fn pinned(policy: &mut Policy, not_after: (i32, u8, u8)) -> Vec<u8> {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(vec!["www.example.test".to_owned()]).expect("params");
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
    let der = p.self_signed(&key).expect("sign").der().to_vec();
    policy.anchors = TrustAnchors::from_der(std::slice::from_ref(&der)).expect("anchor");
    der
}

fn intermediate() -> Policy {
    Policy::new(Guideline::CURRENT.profile("intermediate").expect("profile"))
}

fn observed(chain: Vec<u8>, suites: &[(ProtocolVersion, &[u16])]) -> Observed {
    Observed {
        plaintext: false,
        suites: suites.iter().map(|(v, s)| (*v, s.to_vec())).collect(),
        chain: vec![chain],
        ocsp_stapled: Some(true),
    }
}

fn judge(policy: &Policy, obs: &Observed) -> Vec<Violation> {
    let names = vec!["www.example.test".to_owned()];
    let host = HostNames { names: &names, addresses: &[] };
    evaluate(policy, obs, host, now(), &names::iana_name)
}

fn rules(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(|v| v.rule().as_str()).collect()
}

#[test]
fn a_conforming_endpoint_has_no_violation() {
    let mut p = intermediate();
    let leaf = pinned(&mut p, (2026, 12, 1));
    let obs = observed(
        leaf,
        &[
            (ProtocolVersion::TLS12, &[ECDHE_RSA_AES128_GCM]),
            (ProtocolVersion::TLS13, &[AES128_GCM_SHA256]),
        ],
    );
    assert_eq!(judge(&p, &obs), []);
}

#[test]
fn old_versions_and_suites_outside_the_profile() {
    let mut p = intermediate();
    let leaf = pinned(&mut p, (2026, 12, 1));
    let obs = observed(
        leaf,
        &[
            (ProtocolVersion::TLS10, &[RSA_3DES]),
            (ProtocolVersion::TLS12, &[ECDHE_RSA_AES128_GCM, DHE_RSA_AES128_GCM, RSA_3DES, 0xfefe]),
        ],
    );
    let v = judge(&p, &obs);
    assert_eq!(rules(&v), ["tls-protocol", "tls-cipher", "tls-cipher", "tls-cipher"]);
    assert_eq!(v[0].severity(), Severity::High);
    assert_eq!(
        v[0].evidence(),
        "accepted TLSv1.0; Mozilla intermediate 6.0 allows only TLSv1.2, TLSv1.3"
    );
    // DHE left the profile in 6.0: outside it, not broken.
    assert_eq!(v[1].severity(), Severity::Medium);
    assert!(v[1].evidence().contains("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), "{v:?}");
    assert!(v[1].evidence().contains("DHE-RSA-AES128-GCM-SHA256"), "{v:?}");
    assert_eq!(v[2].severity(), Severity::High);
    assert!(v[2].evidence().contains("DES-CBC3-SHA"), "{v:?}");
    // A code point nobody can name is still reported, in hex.
    assert!(v[3].evidence().contains("0xfefe"), "{v:?}");
}

#[test]
fn overrides_change_what_is_allowed() {
    // Guideline 5.7 still allows DHE; deny takes it out again.
    let mut p = Policy::new(Guideline::V5_7.profile("intermediate").expect("5.7"));
    let leaf = pinned(&mut p, (2026, 12, 1));
    let obs = observed(leaf, &[(ProtocolVersion::TLS12, &[DHE_RSA_AES128_GCM, RSA_3DES])]);
    assert_eq!(rules(&judge(&p, &obs)), ["tls-cipher"]);
    p.deny = vec!["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256".to_owned()];
    p.allow = vec!["TLS_RSA_WITH_3DES_EDE_CBC_SHA".to_owned()];
    let v = judge(&p, &obs);
    assert_eq!(rules(&v), ["tls-cipher"]);
    assert!(matches!(v[0], Violation::Cipher { code: DHE_RSA_AES128_GCM, .. }));

    // min_version replaces the profile's list: modern with 1.2 allowed.
    let mut p = Policy::new(Guideline::CURRENT.profile("modern").expect("modern"));
    let leaf = pinned(&mut p, (2026, 8, 1));
    let obs = observed(leaf, &[(ProtocolVersion::TLS12, &[])]);
    // Modern caps lifetimes at 90 days; this one is valid for 212.
    assert_eq!(rules(&judge(&p, &obs)), ["tls-protocol", "tls-cert-untrusted"]);
    assert_eq!(judge(&p, &obs)[1].severity(), Severity::Low);
    p.profile.maximum_certificate_lifespan = None;
    assert_eq!(rules(&judge(&p, &obs)), ["tls-protocol"]);
    assert_eq!(judge(&p, &obs)[0].severity(), Severity::Medium);
    p.min_version = Some(ProtocolVersion::TLS12);
    assert_eq!(judge(&p, &obs), []);
}

#[test]
fn certificate_problems_map_to_cert_rules() {
    let mut p = intermediate();
    let leaf = pinned(&mut p, (2026, 6, 5));
    let obs = observed(leaf, &[(ProtocolVersion::TLS13, &[AES128_GCM_SHA256])]);
    let v = judge(&p, &obs);
    assert_eq!(rules(&v), ["tls-cert-expiring"]);
    assert_eq!(v[0].severity(), Severity::Medium);
    assert!(v[0].evidence().starts_with("certificate expires in 4 days"), "{v:?}");

    // Mozilla's roots do not know our self-signed certificate.
    p.anchors = TrustAnchors::webpki_roots();
    p.min_days_left = 0;
    assert_eq!(rules(&judge(&p, &obs)), ["tls-cert-untrusted"]);

    // The hostname check follows the policy's switch.
    let names = vec!["api.example.test".to_owned()];
    let other = HostNames { names: &names, addresses: &[] };
    let v = evaluate(&p, &obs, other, now(), &names::iana_name);
    assert_eq!(rules(&v), ["tls-cert-untrusted", "tls-cert-hostname"]);
    p.hostname = false;
    let v = evaluate(&p, &obs, other, now(), &names::iana_name);
    assert_eq!(rules(&v), ["tls-cert-untrusted"]);
}

#[test]
fn plaintext_and_ocsp() {
    let mut p = intermediate();
    let leaf = pinned(&mut p, (2026, 12, 1));
    let mut obs = observed(leaf, &[(ProtocolVersion::TLS13, &[AES128_GCM_SHA256])]);
    obs.ocsp_stapled = Some(false);
    assert_eq!(judge(&p, &obs), []);
    p.require_ocsp_staple = true;
    let v = judge(&p, &obs);
    assert_eq!(v, [Violation::OcspNotStapled]);
    assert_eq!((v[0].rule(), v[0].severity()), (Rule::TlsProtocol, Severity::Low));
    // Not known (an nmap import): not judged here; the verdict says so.
    obs.ocsp_stapled = None;
    assert_eq!(judge(&p, &obs), []);
    obs.plaintext = true;
    let v = judge(&p, &obs);
    assert_eq!(v, [Violation::Missing]);
    assert_eq!((v[0].rule(), v[0].severity()), (Rule::TlsMissing, Severity::High));
}

#[test]
fn a_spec_policy_becomes_an_effective_policy() {
    let yaml = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/good-specs/tls-overrides.yaml"),
    )
    .expect("fixture");
    let file: std::sync::Arc<str> = std::sync::Arc::from("tls-overrides.yaml");
    let loaded = crate::spec::load_bytes(std::path::Path::new("/nonexistent/x.yaml"), &file, &yaml);
    let intent = loaded.intent.expect("a valid spec");
    let web = Policy::from_intent(&intent.tls_policies[0], TrustAnchors::default()).expect("web");
    assert_eq!((web.profile.name.as_str(), web.profile.guideline_version), ("intermediate", "6.0"));
    assert_eq!(web.min_version, Some(ProtocolVersion::TLS12));
    assert_eq!(web.deny, ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]);
    assert!(
        !web.allows_suite(ProtocolVersion::TLS12, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")
    );
    assert_eq!((web.min_rsa_bits, web.require_ocsp_staple, web.hostname), (3072, true, true));
    let legacy =
        Policy::from_intent(&intent.tls_policies[1], TrustAnchors::default()).expect("legacy");
    assert_eq!((legacy.profile.name.as_str(), legacy.profile.guideline_version), ("old", "5.7"));
    // Written as OpenSSL's name, kept as IANA's.
    assert_eq!(legacy.allow, ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]);
    assert!(legacy.allows_version(ProtocolVersion::TLS11));
    assert!(!legacy.allows_version(ProtocolVersion::TLS10));
    assert_eq!((legacy.min_rsa_bits, legacy.hostname), (2048, false));
}
